"""The numerical engine: numpy + numba only, never Qt."""
