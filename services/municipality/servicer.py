"""The Municipality gRPC API: protobuf ↔ domain conversion only (errors are domain errors)."""

from __future__ import annotations

import grpc
from mynumber.municipality.v1 import municipality_pb2 as pb
from mynumber.municipality.v1 import municipality_pb2_grpc

from mynumber_core.errors import InvalidInput
from mynumber_core.interceptors import status_code
from services.municipality import domain
from services.municipality.usecases import UseCases
from services.municipality.usecases.bulk_enrolment import Enrolled
from services.municipality.usecases.residents import ResidentView

_SEX_IN = {pb.SEX_MALE: "male", pb.SEX_FEMALE: "female"}
_SEX_OUT = {v: k for k, v in _SEX_IN.items()}
_TYPE_IN = {
    pb.RESIDENT_TYPE_CITIZEN: domain.ResidentType.CITIZEN.value,
    pb.RESIDENT_TYPE_FOREIGN: domain.ResidentType.FOREIGN.value,
}
_TYPE_OUT = {v: k for k, v in _TYPE_IN.items()}
_STATUS_OUT = {
    domain.ResidentStatus.RESIDENT: pb.RESIDENT_STATUS_RESIDENT,
    domain.ResidentStatus.MOVED_OUT: pb.RESIDENT_STATUS_MOVED_OUT,
    domain.ResidentStatus.DECEASED: pb.RESIDENT_STATUS_DECEASED,
}


def form_from_proto(facts: pb.ResidentFacts) -> domain.ResidentForm:
    """The raw form; validation happens in the use case."""
    if facts.sex not in _SEX_IN:
        raise InvalidInput("sex must be SEX_MALE or SEX_FEMALE")
    if facts.resident_type not in _TYPE_IN:
        raise InvalidInput("resident_type must be RESIDENT_TYPE_CITIZEN or RESIDENT_TYPE_FOREIGN")
    return domain.ResidentForm(
        name=facts.name,
        name_kana=facts.name_kana,
        birth_date=facts.birth_date,
        sex=_SEX_IN[facts.sex],
        address=facts.address,
        resident_type=_TYPE_IN[facts.resident_type],
        nationality=facts.foreign.nationality,
        residence_status=facts.foreign.residence_status,
        residence_card_number=facts.foreign.residence_card_number,
        period_of_stay_until=facts.foreign.period_of_stay_until,
    )


def form_to_proto(form: domain.ResidentForm) -> pb.ResidentFacts:
    """Protobuf form of stored facts."""
    return pb.ResidentFacts(
        name=form.name,
        name_kana=form.name_kana,
        birth_date=form.birth_date,
        sex=_SEX_OUT.get(form.sex, pb.SEX_UNSPECIFIED),
        address=form.address,
        resident_type=_TYPE_OUT.get(form.resident_type, pb.RESIDENT_TYPE_UNSPECIFIED),
        foreign=pb.ForeignResidentDetails(
            nationality=form.nationality,
            residence_status=form.residence_status,
            residence_card_number=form.residence_card_number,
            period_of_stay_until=form.period_of_stay_until,
        ),
    )


def care_to_proto(address_number: str, cert: domain.CareCertification) -> pb.CareCertification:
    """Protobuf form of a certification."""
    return pb.CareCertification(
        address_number=address_number,
        level=pb.CareLevel.Name(int(cert.level)),
        level_name=cert.level.label,
        certified_on=cert.certified_on.isoformat(),
        valid_from=cert.valid_from.isoformat(),
        valid_until=cert.valid_until.isoformat(),
    )


def resident_to_proto(view: ResidentView) -> pb.Resident:
    """Protobuf form of a resident."""
    message = pb.Resident(
        address_number=view.address_number,
        household_id=view.household_id,
        relationship=view.relationship,
        facts=form_to_proto(view.form),
        status=_STATUS_OUT[view.status],
        status_date=view.status_date,
        has_care=view.care is not None,
        pending_move_out_notices=view.pending_move_out_notices,
    )
    if view.care is not None:
        message.care.CopyFrom(care_to_proto(view.address_number, view.care))
    return message


class MunicipalityServicer(municipality_pb2_grpc.MunicipalityServicer):
    """The clerks' API: each method delegates to one feature of the use cases."""

    def __init__(self, usecases: UseCases) -> None:
        self._uc = usecases

    def RegisterResident(  # noqa: N802
        self, request: pb.RegisterResidentRequest, context: grpc.ServicerContext
    ) -> pb.RegisterResidentResponse:
        result = self._uc.residents.register_resident(
            form_from_proto(request.resident),
            request.household_id,
            request.relationship,
            request.idempotency_key,
        )
        return pb.RegisterResidentResponse(
            address_number=result.address_number,
            household_id=result.household_id,
            my_number=result.my_number,
        )

    def EnrolResident(  # noqa: N802
        self, request: pb.EnrolResidentRequest, context: grpc.ServicerContext
    ) -> pb.EnrolResidentResponse:
        address_number, household_id = self._uc.residents.enrol_resident(
            request.my_number,
            form_from_proto(request.resident),
            request.household_id,
            request.relationship,
            request.idempotency_key,
            request.previous_address,
        )
        return pb.EnrolResidentResponse(address_number=address_number, household_id=household_id)

    def EnrolResidents(  # noqa: N802
        self, request: pb.EnrolResidentsRequest, context: grpc.ServicerContext
    ) -> pb.EnrolResidentsResponse:
        forms: list[tuple[str, domain.ResidentForm] | InvalidInput] = []
        for record in request.records:
            try:
                forms.append((record.my_number, form_from_proto(record.resident)))
            except InvalidInput as exc:  # answered for this record; the others go on
                forms.append(exc)
        return pb.EnrolResidentsResponse(
            results=[
                pb.EnrolResidentResult(
                    address_number=a.address_number,
                    household_id=a.household_id,
                    already_enrolled=a.already,
                )
                if isinstance(a, Enrolled)
                else pb.EnrolResidentResult(code=status_code(a), message=a.message)
                for a in self._uc.bulk_enrolment.enrol_many(forms)
            ]
        )

    def GetResident(  # noqa: N802
        self, request: pb.GetResidentRequest, context: grpc.ServicerContext
    ) -> pb.Resident:
        return resident_to_proto(self._uc.residents.get_resident(request.address_number))

    def ListLetters(  # noqa: N802
        self, request: pb.ListLettersRequest, context: grpc.ServicerContext
    ) -> pb.ListLettersResponse:
        return pb.ListLettersResponse(
            letters=[
                pb.Letter(id=v.id, kind=v.kind, address=v.address, created_at=v.created_at)
                for v in self._uc.letters.letters(request.address_number)
            ]
        )

    def GetHousehold(  # noqa: N802
        self, request: pb.GetHouseholdRequest, context: grpc.ServicerContext
    ) -> pb.Household:
        view = self._uc.residents.get_household(request.household_id)
        return pb.Household(
            household_id=view.household_id,
            householder_address_number=view.householder_address_number,
            address=view.address,
            members=[
                pb.HouseholdMember(
                    address_number=m.address_number,
                    name=m.name,
                    relationship=m.relationship,
                    birth_date=m.birth_date,
                )
                for m in view.members
            ],
        )

    def RecordMove(  # noqa: N802
        self, request: pb.RecordMoveRequest, context: grpc.ServicerContext
    ) -> pb.RecordMoveResponse:
        result = self._uc.moves.record_move(
            request.address_number,
            request.new_address,
            request.effective_date,
            request.with_household,
            request.idempotency_key,
        )
        return pb.RecordMoveResponse(
            moved=result.moved, household_id=result.household_id, event_ids=result.event_ids
        )

    def RecordMoveOut(  # noqa: N802
        self, request: pb.RecordMoveOutRequest, context: grpc.ServicerContext
    ) -> pb.RecordMoveOutResponse:
        event_id = self._uc.moves.record_move_out(
            request.address_number,
            request.destination_address,
            request.effective_date,
            request.idempotency_key,
        )
        return pb.RecordMoveOutResponse(event_id=event_id)

    def RecordDeath(  # noqa: N802
        self, request: pb.RecordDeathRequest, context: grpc.ServicerContext
    ) -> pb.RecordDeathResponse:
        self._uc.moves.record_death(
            request.address_number, request.date_of_death, request.idempotency_key
        )
        return pb.RecordDeathResponse()

    def CertifyLongTermCare(  # noqa: N802
        self, request: pb.CertifyLongTermCareRequest, context: grpc.ServicerContext
    ) -> pb.CareCertification:
        view = self._uc.care.certify_care(
            request.address_number,
            int(request.level),
            request.certified_on,
            request.valid_from,
            request.valid_until,
            request.idempotency_key,
        )
        return care_to_proto(view.address_number, view.cert)

    def DeclareDisaster(  # noqa: N802
        self, request: pb.DeclareDisasterRequest, context: grpc.ServicerContext
    ) -> pb.Disaster:
        view = self._uc.disasters.declare_disaster(
            request.name,
            request.area,
            request.declared_on,
            int(request.assumed_damage),
            request.idempotency_key,
        )
        return pb.Disaster(
            disaster_id=view.disaster_id,
            name=view.name,
            area=view.area,
            declared_on=view.declared_on.isoformat(),
            assumed_damage=pb.DamageLevel.Name(int(view.assumed_damage)),
        )

    def CompileSupportList(  # noqa: N802
        self, request: pb.CompileSupportListRequest, context: grpc.ServicerContext
    ) -> pb.SupportList:
        view = self._uc.disasters.compile_support_list(request.disaster_id, request.income_year)
        return pb.SupportList(
            disaster_id=view.disaster_id,
            income_year=view.income_year,
            total_support_yen=view.total_support_yen,
            residents=[
                pb.SupportListEntry(
                    address_number=e.address_number,
                    household_id=e.household_id,
                    relationship=e.relationship,
                    name=e.name,
                    address=e.address,
                    birth_date=e.birth_date,
                    age=e.age,
                    care_level=e.care_level,
                    care_flags=e.care_flags,
                    care_flags_known=e.care_flags_known,
                    needs_evacuation_support=e.need.needed,
                    reasons=list(e.need.reasons),
                )
                for e in view.residents
            ],
            households=[
                pb.HouseholdSupport(
                    household_id=h.household_id,
                    size=h.size,
                    household_income_yen=h.household_income_yen,
                    income_complete=h.income_complete,
                    support_yen=h.support_yen,
                    basis=h.basis,
                )
                for h in view.households
            ],
        )

    def ReissueNumber(  # noqa: N802
        self, request: pb.ReissueNumberRequest, context: grpc.ServicerContext
    ) -> pb.ReissueNumberResponse:
        new_number = self._uc.reissue.reissue_number(
            request.address_number, request.reason, request.idempotency_key
        )
        return pb.ReissueNumberResponse(my_number=new_number)
