"""A sorted window of samples for running medians (jitted helpers shared by the kernels that need one)."""

from numba import njit


@njit(cache=True)
def sorted_insert(win, count, v):
    """Insert v into win[:count] (sorted ascending) keeping it sorted; returns the new count."""
    j = count
    while j > 0 and win[j - 1] > v:
        win[j] = win[j - 1]
        j -= 1
    win[j] = v
    return count + 1


@njit(cache=True)
def sorted_remove(win, count, v):
    """Remove one v (present) from win[:count] (sorted ascending); returns the new count."""
    lo, hi = 0, count  # binary search for the first element >= v
    while lo < hi:
        mid = (lo + hi) // 2
        if win[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    for j in range(lo, count - 1):
        win[j] = win[j + 1]
    return count - 1
