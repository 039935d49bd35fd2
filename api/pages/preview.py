"""The planner's split preview: run the split job's engine on one area, answer GeoJSON and a
report (the parts `wangge split` would write for it, with the same seed)."""

from __future__ import annotations

import shapely
from shapely.geometry import mapping

from gis.partition.engines import splitter


def preview(inputs: dict, min_households: int, max_households: int, seed: int = 1,
            level: str = "micro_grid") -> dict:
    """Parts of the area (nothing written) with households, compactness and violations;
    `level` names the parts (micro_grid: a grid's, grid: a community's)."""
    parent = shapely.from_wkb(inputs["geom"])
    buildings = list(shapely.from_wkb(inputs["buildings"])) if inputs["buildings"] else []
    roads = [g for g in (shapely.from_wkb(inputs["roads"]) if inputs["roads"] else [])
             if not g.is_empty and g.geom_type in ("LineString", "MultiLineString")]
    split = splitter(level=level)  # the default engine with its passes, as the split job runs it
    result = split(parent, buildings, inputs["building_households"], barriers=roads,
                   min_households=min_households, max_households=max_households, seed=seed)
    features = []
    for i, (part, hh, pp, why) in enumerate(zip(result.parts, result.households,
                                                result.polsby_popper, result.part_reasons,
                                                strict=True)):
        state = "under" if hh < min_households else "over" if hh > max_households else "within"
        geom = shapely.set_precision(part, 1e-7)
        features.append({"type": "Feature", "id": i + 1, "geometry": mapping(geom),
                         "properties": {"part": i + 1, "households": int(hh),
                                        "polsby_popper": round(float(pp), 3), "state": state,
                                        "reasons": why}})
    hh = [int(h) for h in result.households]
    pps = [float(p) for p in result.polsby_popper]
    return {
        "type": "FeatureCollection",
        "features": features,
        "report": {
            "code": inputs["code"], "name": inputs["name"], "households": sum(hh),
            "buildings": len(buildings), "parts": len(hh), "min": min(hh, default=0),
            "max": max(hh, default=0),
            "mean_polsby_popper": round(sum(pps) / len(pps), 3) if pps else 0.0,
            "min_polsby_popper": round(min(pps), 3) if pps else 0.0,
            "bounds": [min_households, max_households],
            "violations": list(result.violations), "notes": list(result.notes),
            "why": [{"part": i + 1, **r} for i, rs in enumerate(result.part_reasons)
                    for r in rs],
        },
    }
