"""The patients endpoints of the JSON API (mounted by clinic/api.py): search,
register, read and change a patient, through the same selector and service as the
patients pages.

Writes are validated by the model (`save_patient` runs `full_clean`), so the API and
the form refuse the same things; this module only turns the model's errors into the
API's field errors. Unknown fields in a body are refused (422), so a misspelt field is
never silently ignored.
"""

# No `from __future__ import annotations` here: ninja reads a paginated view's
# parameter types through its wrapper, whose module cannot resolve our names.
from datetime import date
from typing import Annotated

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError
from ninja.pagination import paginate
from pydantic import ConfigDict

from clinic.kernel.api import ERRORS, require
from clinic.kernel.api_types import ClinicTime, Page, Text, field_problem, get_or_404, path_id

from .models import Patient, Sex
from .selectors import likely_duplicates, search_patients
from .services import save_patient

router = Router(tags=["patients"])


class PatientRef(Schema):
    """A patient named inside another resource: their id and full name."""

    id: int
    name: str

    @staticmethod
    def resolve_name(patient: Patient) -> str:
        return patient.full_name


def _text(name: str) -> Text:
    """Text as the form takes the model's field: required unless the field may be
    blank, no longer than its column."""
    field = Patient._meta.get_field(name)
    assert isinstance(field, models.Field)
    return Text(field.max_length, min_length=0 if field.blank else 1)


GivenName = Annotated[str, _text("given_name")]
FamilyName = Annotated[str, _text("family_name")]
Phone = Annotated[str, _text("phone")]
Email = Annotated[str, _text("email")]
Address = Annotated[str, _text("address")]
NationalId = Annotated[str, _text("national_id")]
Notes = Annotated[str, _text("notes")]


class PatientIn(Schema):
    """A patient to register. `phone` is a local number of the clinic's region or
    +country code; it is answered in E.164."""

    model_config = ConfigDict(extra="forbid")

    given_name: GivenName
    family_name: FamilyName
    date_of_birth: date
    sex: Sex = Sex.UNKNOWN
    phone: Phone = Field("", description="Optional: a patient without one gets no SMS.")
    email: Email = ""
    address: Address = ""
    national_id: NationalId = Field("", description="Optional; unique when given.")
    notes: Notes = Field("", description="Administrative notes, not clinical ones.")
    sms_opt_out: bool = False
    confirm_new_patient: bool = Field(
        False,
        description="Register even though a likely duplicate exists (the same name and "
        "date of birth, or the same phone): without it such a registration is answered "
        "409 `possible_duplicate` with the patients it may be. A confirmed retry is a "
        "new request: give it a new Idempotency-Key (the 409 is kept for the first).",
    )


class PatientPatch(Schema):
    """The fields to change; those left out keep their value. No field takes null:
    one sent is refused (422)."""

    model_config = ConfigDict(extra="forbid")

    given_name: GivenName | None = None
    family_name: FamilyName | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    national_id: NationalId | None = None
    notes: Notes | None = None
    sms_opt_out: bool | None = None


class PatientOut(Schema):
    id: int
    given_name: str
    family_name: str
    full_name: str
    date_of_birth: date
    sex: Sex
    phone: str = Field(description="E.164, e.g. +12025550143.")
    email: str
    address: str
    national_id: str
    notes: str
    sms_opt_out: bool
    sms_opted_out_at: ClinicTime | None
    merged_into: int | None = Field(
        None,
        description="Set when this registration was merged into another patient (by a "
        "manager): that patient's id. A merged patient is found by no search and booked "
        "no more.",
    )
    created_at: ClinicTime
    updated_at: ClinicTime

    @staticmethod
    def resolve_phone(patient: Patient) -> str:
        return patient.phone.as_e164 if patient.phone else ""

    @staticmethod
    def resolve_merged_into(patient: Patient) -> int | None:
        return patient.merged_into_id


class PatientSearch(Schema):
    q: Annotated[str, Text(100)] = Field(
        "",
        description="A name in any order, case, accents or apostrophes (every word "
        "matches; on PostgreSQL a near miss too, closest first), optionally with a "
        "date of birth; a date of birth alone; a phone number or any part of one; a "
        "national ID.",
    )


class DuplicateDetail(Schema):
    code: str = Field(description="`possible_duplicate`.")
    message: str
    duplicates: list[PatientRef] = Field(description="The patients this one may be.")


class DuplicateOut(Schema):
    error: DuplicateDetail


@router.get("/patients", response={200: list[PatientOut], **ERRORS})
@paginate(Page)
def list_patients(request: HttpRequest, search: Query[PatientSearch]):
    """Patients matching `q` as on the patients page, by family and given name."""
    require(request, "patients.view_patient")
    return search_patients(query=search.q)


@router.post("/patients", response={201: PatientOut, 409: DuplicateOut, **ERRORS})
def create_patient(request: HttpRequest, payload: PatientIn) -> Status:
    """Register a patient. One who looks registered already (the same name and date
    of birth, or the same phone) is answered 409 with those patients, unless
    `confirm_new_patient` is true."""
    require(request, "patients.add_patient")
    data = payload.dict()
    sms_opt_out = data.pop("sms_opt_out")
    confirmed = data.pop("confirm_new_patient")
    patient = Patient(**data)
    if not confirmed:
        duplicates = _duplicates_of(patient)
        if duplicates:
            return Status(
                409,
                {
                    "error": {
                        "code": "possible_duplicate",
                        "message": _(
                            "This patient may already be registered. Use the existing "
                            "patient, or send confirm_new_patient: true."
                        ),
                        "duplicates": duplicates,
                    }
                },
            )
    return Status(201, _save(patient, sms_opt_out=sms_opt_out))


@router.get("/patients/{id}", response={200: PatientOut, **ERRORS})
def get_patient(request: HttpRequest, id: int = path_id("The patient's id.")) -> Patient:
    require(request, "patients.view_patient")
    return get_or_404(Patient.objects.all(), id)


@router.patch("/patients/{id}", response={200: PatientOut, **ERRORS})
def update_patient(
    request: HttpRequest, payload: PatientPatch, id: int = path_id("The patient's id.")
) -> Patient:
    """Change some of a patient's details; the whole patient is validated again."""
    require(request, "patients.change_patient")
    patient = get_or_404(Patient.objects.all(), id)
    changes = payload.dict(exclude_unset=True)
    nulls = [
        field_problem(field, "This field cannot be null.")
        for field, value in changes.items()
        if value is None
    ]
    if nulls:
        raise ValidationError(nulls)
    sms_opt_out = changes.pop("sms_opt_out", patient.sms_opt_out)
    for field, value in changes.items():
        setattr(patient, field, value)
    return _save(patient, sms_opt_out=sms_opt_out)


def _duplicates_of(patient: Patient) -> list[Patient]:
    """The likely duplicates of a valid patient about to be registered; an invalid
    one gets its field errors first (422), as without the check."""
    try:
        patient.full_clean()
    except ModelValidationError as error:
        raise ValidationError(_field_errors(error)) from None
    return list(
        likely_duplicates(
            given_name=patient.given_name,
            family_name=patient.family_name,
            date_of_birth=patient.date_of_birth,
            phone=patient.phone.as_e164 if patient.phone else "",
        )[:5]
    )


def _save(patient: Patient, *, sms_opt_out: bool) -> Patient:
    try:
        return save_patient(patient=patient, sms_opt_out=sms_opt_out)
    except ModelValidationError as error:
        raise ValidationError(_field_errors(error)) from None


# The unique national ID is a conditional constraint, which Django reports as a
# whole-patient error; the client is told which field it is about.
_NATIONAL_ID_TAKEN = next(
    constraint.get_violation_error_message()
    for constraint in Patient._meta.constraints
    if constraint.name == "patient_national_id_unique"
)


def _field_errors(error: ModelValidationError) -> list[dict]:
    problems = []
    for field, messages in error.message_dict.items():
        for message in messages:
            if field == NON_FIELD_ERRORS and message == _NATIONAL_ID_TAKEN:
                problems.append(field_problem("national_id", message))
            else:
                problems.append(field_problem(field, message))
    return problems
