"""journey.inputs: the checks of typed input the services of every app share."""

import pytest
from django.core.exceptions import ValidationError

from journey.inputs import require_reason


def test_a_reason_is_kept_without_surrounding_blanks():
    assert require_reason("  parents asked \n") == "parents asked"


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_a_blank_reason_is_refused_on_its_field(blank):
    with pytest.raises(ValidationError) as refused:
        require_reason(blank, "review_note")
    assert list(refused.value.message_dict) == ["review_note"]
