"""Official evaluation protocols, one module per benchmark, tested against hand-worked values."""
