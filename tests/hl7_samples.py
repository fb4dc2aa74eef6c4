"""Real-shaped HL7 2.5.1 ORU^R01 messages in several labs' styles, and a lab to send them."""

import datetime as dt

from interfaces.models import LabSender
from tests.factories_tracker import planned_journey

DAY0 = dt.date(2026, 1, 5)

# Lab 1: LOINC codes, OBX-7 ranges, offsets in the times, CR between segments.
LIVER = (
    "MSH|^~\\&|LIS|NORTHLAB^2.16.840.1.113883.3.1^ISO|WAYPOINT|CENTER|20260112091500-0500||"
    "ORU^R01^ORU_R01|{id}|P|2.5.1|||AL|NE\r"
    "PID|1||{mrn}^^^CENTER-A^MR~555-12-3456^^^SSA^SS||Rivera^Maya^^^^^L||20250601|M\r"
    "ORC|RE|ORD1|F9001\r"
    "OBR|1|ORD1|F9001|24325-3^Hepatic function panel^LN|||20260112080000-0500|||||||||||||||"
    "20260112090000-0500||CH|F\r"
    "OBX|1|NM|1742-6^ALT^LN||{alt}|U/L|7-56|{flag}|||{status}|||20260112080000-0500\r"
    "OBX|2|NM|1920-8^AST^LN||30|U/L|10-40|N|||F\r"
    "OBX|3|NM|1975-2^Bilirubin total^LN||0.4|mg/dL|0.1-1.2|N|||F\r"
    "OBX|4|NM|6301-6^INR^LN||1.0|ratio|0.8-1.2|N|||F\r"
)

# Lab 2: local codes, no OBX-7, no time offset (the lab's zone), LF line ends, two OBR
# groups (liver and platelets), a "<0.5" bound and a string comment value.
LOCAL = (
    "MSH|^~\\&|LAB2|SOUTHLAB|WP|WP|202601121000||ORU^R01|{id}|P|2.3\n"
    "PID|||{mrn}^^^CENTER-A||RIVERA^MAYA||20250601|M\n"
    "OBR|1||A77|LFT^Liver tests^L|||202601120730\n"
    "OBX|1|NM|ALTL^ALT^L||41|IU/L|||||F\n"
    "OBX|2|NM|TBILL^Bilirubin^L||<0.5|mg/dL|||||F\n"
    "OBX|3|ST|CMT^Comment^L||Haemolysed sample, repeat advised||||||F\n"
    "OBR|2||A78|CBC^Blood count^L|||202601120730\n"
    "OBX|1|NM|777-3^Platelets^LN||250|10\\S\\9/L|150-450||||F\n"
)


def make_lab(center, facility="NORTHLAB", zone="America/New_York"):
    return LabSender.objects.create(
        center=center,
        name=facility.title(),
        sending_facility=facility,
        assigning_authority="CENTER-A",
        time_zone=zone,
    )


def child(center, mrn="MRN0001", day0=DAY0):
    journey = planned_journey(day0=day0, center=center)
    journey.patient.medical_record_number = mrn
    journey.patient.first_name, journey.patient.last_name = "Maya", "Rivera"
    journey.patient.save()
    return journey


def liver(id="MSG0001", mrn="MRN0001", alt="42", status="F", flag="N"):
    return LIVER.format(id=id, mrn=mrn, alt=alt, status=status, flag=flag).encode()


def local(id="L0001", mrn="MRN0001"):
    return LOCAL.format(id=id, mrn=mrn).encode()


# A blood count from the same lab: the platelet count's OBX-11 and value vary.
PLATELETS = (
    "MSH|^~\\&|LIS|NORTHLAB^2.16.840.1.113883.3.1^ISO|WAYPOINT|CENTER|20260112091500-0500||"
    "ORU^R01^ORU_R01|{id}|P|2.5.1|||AL|NE\r"
    "PID|1||{mrn}^^^CENTER-A^MR||Rivera^Maya^^^^^L||20250601|M\r"
    "ORC|RE|ORD2|F9002\r"
    "OBR|1|ORD2|F9002|58410-2^CBC panel^LN|||20260112080000-0500|||||||||||||||"
    "20260112090000-0500||HM|{status}\r"
    "OBX|1|NM|777-3^Platelets^LN||{plt}|10\\S\\9/L|150-450|{flag}|||{status}\r"
)


def platelets(id="CBC0001", mrn="MRN0001", plt="250", status="F", flag="N"):
    return PLATELETS.format(id=id, mrn=mrn, plt=plt, status=status, flag=flag).encode()
