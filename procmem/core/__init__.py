"""Floor 0: what every stage shares (errors, atomic writes, hashing, paths, clock, progress).

Nothing here imports another procmem package; every other package may import this one.
"""
