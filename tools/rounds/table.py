"""The docs' colour table from colour_val.py's per-photo npz, on cast directions 0-2 (the suite's,
the report set) and, for comparison with the docs' round-9 table, 0-5."""
import sys

import numpy as np

for f in sys.argv[1:]:
    z = np.load(f)
    cl, ca, ot = z["clean"], z["cast"], z["other"]
    od = (cl[:, None, None] - ot).max(2)   # largest other-family drop per (photo, severity)
    lv = z["src"] == "livec"
    for name, sl in (("dirs0-2", slice(0, 3)), ("dirs0-5", slice(0, 6))):
        c = ca[:, :, sl]
        below = [float((c[:, s] < cl[:, None]).mean()) for s in range(3)]
        rule = float((ca[:, 2, :3].max(1) < cl).mean())
        spec = float(((cl[:, None] - c[:, 2]) > od[:, 2, None]).mean())
        print(f"{f.split('/')[-1]:22s} {name}: below sev1/2/3 {below[0]:.3f} / {below[1]:.3f} / {below[2]:.3f}"
              f"  rule {rule:.3f} ({int(round((1-rule)*len(cl)))} fail)  spec sev3 {spec:.3f}"
              f"  clean LIVE-C mean {cl[lv].mean():.3f} p10 {np.percentile(cl[lv], 10):.3f}"
              f"  clean shoot {[round(float(v), 3) for v in cl[~lv]]}"
              f"  all 145 mean {cl.mean():.3f} p10 {np.percentile(cl, 10):.3f}"
              f"  mean drop sev3 {(cl[:, None] - c[:, 2]).mean():.3f}")
