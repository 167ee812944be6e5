"""vidaug.mining: planned (see the project issues); nothing public yet."""

__all__: list[str] = []
