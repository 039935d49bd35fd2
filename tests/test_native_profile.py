"""bench/native_profile.py: py-spy's native samples of the split booked to the library of the
code they stood in."""

from __future__ import annotations

from bench.native_profile import booked, shares

SPLIT = ("<module> (bench/native_profile.py:140);_divided (bench/native_profile.py:95);"
         "_split_batch (importers/split_job.py:160)")
GEOS = "GEOSIntersection_r (libgeos_c-ac38a227.so.1.20.5);OverlayNG::getResult (libgeos.so.3.14)"
NUMPY = "ufunc_generic_fastcall (numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so)"
SHAPELY = "intersection (shapely/lib.cpython-311-x86_64-linux-gnu.so)"
MALLOC = "malloc (libc.so.6)"


def test_a_sample_goes_to_its_innermost_library_and_the_c_library_to_its_caller():
    """The innermost frame's library takes the sample; malloc and its kin give theirs to the
    nearest library that called them (GEOS allocating, numpy allocating), and a sample whose
    innermost frame is the split's own Python is Python's."""
    assert booked(f"{SPLIT};_sweeps (gis/partition/assign.py:128);{NUMPY}") == "numpy"
    assert booked(f"{SPLIT};{SHAPELY};{GEOS}") == "geos"
    assert booked(f"{SPLIT};{SHAPELY};{GEOS};{MALLOC}") == "geos"
    assert booked(f"{SPLIT};{NUMPY};{MALLOC};memcpy (libc.so.6)") == "numpy"
    assert booked(f"{SPLIT};{SHAPELY}") == "shapely"
    assert booked(f"{SPLIT};_sweeps (gis/partition/assign.py:128)") == "python"
    assert booked(f"{SPLIT};_PyEval_EvalFrameDefault (libpython3.11.so.1.0)") == "python"
    assert booked(f"{SPLIT};zlib_inflate (libz.so.1)") == "other"


def test_only_the_samples_inside_the_split_are_counted():
    """Shares are of the samples taken while the grids were divided: loading the city and
    making its grids (no `_divided` frame) are left out, and counts add up per library."""
    raw = "\n".join([
        f"{SPLIT};{SHAPELY};{GEOS} 6",
        f"{SPLIT};_sweeps (gis/partition/assign.py:128);{NUMPY} 3",
        f"{SPLIT};_sweeps (gis/partition/assign.py:128) 1",
        f"<module> (bench/native_profile.py:140);divide (bench/native_profile.py:84);{GEOS} 90",
    ])
    total, share = shares(raw)
    assert total == 10
    assert share == {"geos": 0.6, "numpy": 0.3, "python": 0.1, "shapely": 0.0, "other": 0.0}
    assert shares("") == (0, {"geos": 0.0, "numpy": 0.0, "python": 0.0, "shapely": 0.0,
                              "other": 0.0})
