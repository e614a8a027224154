"""The error every data loader raises when its input is not in the expected format."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UserError


class DataValidationError(UserError, ValueError):
    """Raised once, up front, with every problem found in a data set (not only the first).

    Attributes:
        problems: one line per problem, each naming the file (and line or key) and the fix.
    """

    def __init__(self, source: str, problems: Sequence[str], hint: str = "") -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in {source}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))
