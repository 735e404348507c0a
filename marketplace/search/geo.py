"""Great-circle distance and the bounding box that pre-filters it (pure)."""

import math

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def bounding_box(
    lat: float, lng: float, radius_km: float
) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """((min_lat, max_lat), [(min_lng, max_lng), ...]) enclosing every point within radius.

    Longitude ranges split in two where the box crosses the antimeridian, and widen to the
    whole circle near the poles.
    """
    d_lat = math.degrees(radius_km / EARTH_RADIUS_KM)
    min_lat, max_lat = max(-90.0, lat - d_lat), min(90.0, lat + d_lat)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return (min_lat, max_lat), [(-180.0, 180.0)]
    d_lng = math.degrees(
        math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) / math.cos(math.radians(lat))))
    )
    low, high = lng - d_lng, lng + d_lng
    if d_lng >= 180 or high - low >= 360:
        return (min_lat, max_lat), [(-180.0, 180.0)]
    if low < -180:
        return (min_lat, max_lat), [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return (min_lat, max_lat), [(low, 180.0), (-180.0, high - 360)]
    return (min_lat, max_lat), [(low, high)]


def haversine_km(lat: float, lng: float, lats: np.ndarray, lngs: np.ndarray) -> np.ndarray:
    """Great-circle distances in km from one point to many."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    d_phi = phi2 - phi1
    d_lambda = np.radians(lngs - lng)
    a = np.sin(d_phi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
