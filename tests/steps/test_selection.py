from __future__ import annotations

import pytest

from steps.selection import best_candidate


def result(name: str, cv: float, std: float = 0.01) -> dict:
    return {"name": name, "cv_score": cv, "cv_std": std}


def test_highest_cv_score_wins():
    assert best_candidate([result("a", 0.90), result("b", 0.95), result("c", 0.93)]) == 1


def test_tie_goes_to_the_steadier_model():
    assert best_candidate([result("a", 0.95, 0.05), result("b", 0.95, 0.01)]) == 1


def test_full_tie_is_broken_by_name_whatever_the_order():
    tied = [result("svm", 0.95), result("knn", 0.95)]
    assert tied[best_candidate(tied)]["name"] == "knn"
    assert tied[::-1][best_candidate(tied[::-1])]["name"] == "knn"


def test_no_candidates_is_a_clear_error():
    with pytest.raises(ValueError, match="no candidates"):
        best_candidate([])
