"""Write the Iris data set as CSV, byte for byte the same on every machine (no network needed).

Only a bootstrap: data/raw/iris.csv is a DVC-tracked input. `make data` (data/get_data.py)
calls this when `dvc pull` has nothing to fetch yet (a fresh remote), and keeps the result
only if its md5 is the one data/raw/iris.csv.dvc records.
"""

import sys
from pathlib import Path

from sklearn.datasets import load_iris

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def write_iris(path: Path) -> None:
    iris = load_iris(as_frame=True)
    frame = iris.data.set_axis(COLUMNS, axis=1)
    frame["species"] = iris.target.map(dict(enumerate(iris.target_names)))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.1f", lineterminator="\n")


if __name__ == "__main__":
    write_iris(Path(sys.argv[1] if len(sys.argv) > 1 else "data/raw/iris.csv"))
