#!/usr/bin/env python3
"""Writes a synthetic customer file for a CCA territory in SCE's service area.

Deterministic for a given seed. The mix follows SCE's: about 88% residential, real SCE rate
schedule names, real cities and counties, 21 read cycles, about 1% Direct Access (non-residential),
and CARE, FERA, Medical Baseline and NEM flags at plausible rates.

    scripts/gen_territory.py --accounts 3000 --seed 7 --cities example > examples/territory/customers.csv
"""
import argparse
import datetime
import random
import sys

CITY_SETS = {
    # A small coastal territory: Ventura County cities and one in Los Angeles County.
    "example": [
        ("Camarillo", "Ventura", 14), ("Moorpark", "Ventura", 8), ("Ojai", "Ventura", 3),
        ("Oxnard", "Ventura", 25), ("Simi Valley", "Ventura", 20), ("Thousand Oaks", "Ventura", 22),
        ("Agoura Hills", "Los Angeles", 8),
    ],
    # SCE territory at large: Los Angeles, Ventura, San Bernardino and Riverside counties.
    "sce": [
        ("Alhambra", "Los Angeles", 8), ("Arcadia", "Los Angeles", 6), ("Beverly Hills", "Los Angeles", 4),
        ("Carson", "Los Angeles", 9), ("Claremont", "Los Angeles", 4), ("Culver City", "Los Angeles", 4),
        ("Downey", "Los Angeles", 10), ("Hawthorne", "Los Angeles", 8), ("Lancaster", "Los Angeles", 15),
        ("Malibu", "Los Angeles", 2), ("Manhattan Beach", "Los Angeles", 4), ("Paramount", "Los Angeles", 5),
        ("Pico Rivera", "Los Angeles", 6), ("Redondo Beach", "Los Angeles", 6), ("Santa Monica", "Los Angeles", 9),
        ("South Pasadena", "Los Angeles", 3), ("Temple City", "Los Angeles", 3), ("West Hollywood", "Los Angeles", 4),
        ("Whittier", "Los Angeles", 8), ("Camarillo", "Ventura", 7), ("Moorpark", "Ventura", 4),
        ("Ojai", "Ventura", 1), ("Oxnard", "Ventura", 19), ("Simi Valley", "Ventura", 13),
        ("Thousand Oaks", "Ventura", 13), ("Apple Valley", "San Bernardino", 8), ("Chino", "San Bernardino", 9),
        ("Fontana", "San Bernardino", 20), ("Hesperia", "San Bernardino", 9), ("Rialto", "San Bernardino", 10),
        ("Victorville", "San Bernardino", 12), ("Corona", "Riverside", 15), ("Hemet", "Riverside", 9),
        ("Menifee", "Riverside", 9), ("Moreno Valley", "Riverside", 19), ("Rancho Mirage", "Riverside", 3),
        ("San Jacinto", "Riverside", 5), ("Temecula", "Riverside", 11),
    ],
}

CLASSES = [  # class, share, rate schedules
    ("residential", 88.0, ["D", "TOU-D-4-9PM", "TOU-D-5-8PM", "TOU-D-PRIME"]),
    ("commercial", 9.0, ["GS-1", "TOU-GS-1", "TOU-GS-2", "TOU-GS-3"]),
    ("industrial", 1.0, ["TOU-8", "TOU-GS-3"]),
    ("agricultural", 1.0, ["PA-1", "TOU-PA-2", "TOU-PA-3"]),
    ("municipal", 0.6, ["TOU-GS-1", "TOU-GS-2", "TC-1"]),
    ("lighting", 0.4, ["LS-1", "LS-2", "DWL"]),
]


# The matching workflow: municipal accounts first, then non-residential, then residential by
# county, as a large SCE-territory CCA would phase in.
ENROLL = {
    "municipal": datetime.date(2027, 3, 1),
    "non_residential": datetime.date(2027, 4, 1),
    "residential_la": datetime.date(2027, 5, 3),
    "residential_inland": datetime.date(2027, 6, 1),
    "residential_ventura": datetime.date(2027, 7, 1),
}


def phase_of(cls, county):
    if cls in ("municipal", "lighting"):
        return "municipal"
    if cls != "residential":
        return "non_residential"
    if county == "Los Angeles":
        return "residential_la"
    if county == "Ventura":
        return "residential_ventura"
    return "residential_inland"


WORKFLOW = """# A synthetic SCE-territory CCA for benchmarks, written by scripts/gen_territory.py.
import sce, rule23, terms, cadence

workflow "Synthetic Territory Power" {
  cca STP
  utility SCE
  calendar sce.business_days
  reads sce.reads_2025_2028
  optouts terms.standard
  responses sce.reject_codes
}

exclude "Direct Access" when direct_access

phase municipal { select class in ["municipal", "lighting"] enroll 2027-03-01 }
phase non_residential { select class in ["commercial", "industrial", "agricultural"] enroll 2027-04-01 }
phase residential_la { select class == "residential" and county == "Los Angeles" enroll 2027-05-03 }
phase residential_inland { select class == "residential" and county in ["San Bernardino", "Riverside"] enroll 2027-06-01 }
phase residential_ventura { select class == "residential" and county == "Ventura" enroll 2027-07-01 }

connect for each phase { submit sce.ccasr_lead before read }

require rule23.pre_enrollment_notices, rule23.post_enrollment_notices, rule23.enrollment_month
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cities", choices=sorted(CITY_SETS), default="example")
    parser.add_argument("--workflow", help="also write a matching workflow (several phases) to this file")
    parser.add_argument("--optouts", help="also write an opt-out trickle (about 3%% of accounts) to this file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cities = CITY_SETS[args.cities]
    city_weights = [c[2] for c in cities]
    class_weights = [c[1] for c in CLASSES]
    out = sys.stdout
    optouts = []
    out.write("account,customer_class,rate_schedule,city,county,read_cycle,direct_access,care,fera,medical_baseline,nem\r\n")
    ids = rng.sample(range(10**9), args.accounts)
    for n in range(args.accounts):
        cls, _, rates = rng.choices(CLASSES, class_weights)[0]
        city, county, _ = rng.choices(cities, city_weights)[0]
        residential = cls == "residential"
        direct_access = not residential and cls != "lighting" and rng.random() < 0.09
        care = residential and rng.random() < 0.22
        fera = residential and not care and rng.random() < 0.03
        medical = residential and rng.random() < 0.03
        nem = cls in ("residential", "commercial", "agricultural") and rng.random() < (0.12 if residential else 0.05)
        flag = lambda b: "true" if b else "false"
        city_field = f'"{city}"' if " " in city else city
        out.write(f"8{ids[n]:09d},{cls},{rng.choice(rates)},{city_field},{county},{rng.randint(1, 21)},"
                  f"{flag(direct_access)},{flag(care)},{flag(fera)},{flag(medical)},{flag(nem)}\r\n")
        if args.optouts and not direct_access and rng.random() < 0.03:
            # Over the notice and follow-up periods: from the first notice to 90 days after enrollment.
            enroll = ENROLL[phase_of(cls, county)]
            day = enroll + datetime.timedelta(days=rng.randint(-55, 90))
            optouts.append((day, f"8{ids[n]:09d}"))
    if args.optouts:
        with open(args.optouts, "w") as f:
            f.write("account,received_on,channel\n")
            for day, account in sorted(optouts):
                f.write(f"{account},{day.isoformat()},{'web' if int(account) % 3 else 'phone'}\n")
    if args.workflow:
        with open(args.workflow, "w") as f:
            f.write(WORKFLOW)


if __name__ == "__main__":
    main()
