"""How the label review page words a plan item's exit rule (both stored shapes)."""

from tracker.services import label_review


def test_the_review_page_words_both_rule_shapes():
    """The catalogue writes rules as {"all": [...]} since issue 11; stored plans keep the old
    single rule. The side-by-side must word both, or a coordinator compares blanks."""
    liver = {
        "all": [
            {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2},
            {"tests": ["TBIL", "INR"], "rule": "within_range"},
        ],
        "source": "label",
    }
    platelets = {
        "all": [{"tests": ["PLT"], "rule": "back_to_baseline", "margin_pct": 20, "side": "low"}]
    }
    old = {"tests": ["ALT", "AST"], "rule": "below_x_uln", "value": 2}

    assert label_review.describe_exit_rule(liver) == (
        "ALT, AST: until below 2 x the upper limit; and TBIL, INR: until within the normal range"
    )
    assert label_review.describe_exit_rule(platelets) == (
        "PLT: until back within 20% of the child's baseline (low side)"
    )
    assert label_review.describe_exit_rule(old) == "ALT, AST: until below 2 x the upper limit"
    assert label_review.describe_exit_rule(None) == ""
