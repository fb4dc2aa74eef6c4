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


@pytest.mark.django_db
def test_a_json_box_nested_thousands_deep_is_a_message_by_the_field_not_a_500(admin_client):
    """Found by the admin fuzz test: "[[[[…" 3,000 deep made json.loads raise RecursionError."""
    from django.urls import reverse

    deep = "[" * 3000
    response = admin_client.post(
        reverse("admin:journey_therapy_add"),
        {"name": "X", "slug": "x", "urgent_symptoms": deep, "monitoring_schedule": "[]"},
    )
    assert response.status_code == 200
    assert "nested too deeply" in response.content.decode()


def test_the_bounded_json_field_reads_ordinary_json_and_refuses_what_is_too_long():
    from journey.inputs import BoundedJSONField

    field = BoundedJSONField()
    assert field.clean('[{"a": 1}]') == [{"a": 1}]
    with pytest.raises(ValidationError, match="too long"):
        field.clean("[" + "1," * 60_000 + "1]")
