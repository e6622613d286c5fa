"""`sapa demo`: a small made-up province, imported through the same path as real registry files.

The generator writes the five CSV files an office would send (posyandu, people, households, members,
payouts) and `load_demo` imports them in order, so the demo also exercises the real import. The
benchmark in `bench/` uses the same generator at 20,000 households. Everything is deterministic
for a given seed and date: names, NIKs and dates are random-looking but repeatable.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.domain.clock import utc_now
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translator
from storage.store import Store

DEFAULT_HOUSEHOLDS = 200


@dataclass(frozen=True)
class DemoKecamatan:
    name: str
    nik_prefix: str  # province 36, district 01 (Pandeglang), kecamatan code
    code: str
    desa: tuple[str, ...]
    post_office: str


KECAMATAN = (
    DemoKecamatan(
        "Pandeglang",
        "360101",
        "PDG",
        ("Kadomas", "Karaton", "Pagerbatu", "Sukaratu"),
        "Kantor Pos Pandeglang",
    ),
    DemoKecamatan(
        "Mekarjaya",
        "360129",
        "MKJ",
        ("Mekarjaya", "Sukamulya", "Medalsari"),
        "Kantor Pos Mekarjaya",
    ),
)

SCHEDULES = (
    "tanggal 5",
    "selasa minggu ke-2",
    "tanggal 12",
    "kamis minggu ke-3",
    "tanggal 20",
    "rabu minggu ke-1",
    "senin minggu terakhir",
)

WOMEN = (
    "Siti",
    "Nurhayati",
    "Euis",
    "Neneng",
    "Iis",
    "Yuyun",
    "Enah",
    "Rohmah",
    "Dewi",
    "Lilis",
    "Entin",
    "Aisyah",
    "Imas",
    "Popon",
    "Titin",
    "Rina",
    "Eha",
    "Juju",
    "Uum",
    "Nining",
)
MEN = (
    "Ahmad",
    "Dadang",
    "Asep",
    "Ujang",
    "Jajang",
    "Encep",
    "Hasan",
    "Udin",
    "Ade",
    "Dede",
    "Mamat",
    "Oman",
    "Iwan",
    "Agus",
    "Rahmat",
    "Sahroni",
    "Mulyadi",
    "Endang",
    "Aceng",
)
CHILDREN = (
    "Aditya",
    "Bunga",
    "Cahya",
    "Dimas",
    "Fajar",
    "Gita",
    "Hilman",
    "Intan",
    "Nabila",
    "Rizky",
    "Salsa",
    "Zahra",
    "Raka",
    "Putri",
    "Fikri",
    "Alya",
    "Bagas",
    "Keysha",
)
FAMILY = (
    "Sukmana",
    "Hidayat",
    "Suryana",
    "Rohendi",
    "Saputra",
    "Maulana",
    "Permana",
    "Nugraha",
    "Kurniawan",
    "Setiawan",
    "Firmansyah",
    "Ramdani",
    "Gunawan",
    "Hermawan",
)

CSV_HEADERS: dict[ImportKind, list[str]] = {
    ImportKind.POSYANDU: ["code", "name", "kecamatan", "desa", "schedule"],
    ImportKind.PEOPLE: ["code", "name", "role", "kecamatan", "posyandu"],
    ImportKind.HOUSEHOLDS: [
        "program_number",
        "head_name",
        "nik",
        "kecamatan",
        "desa",
        "posyandu_code",
        "companion_code",
    ],
    ImportKind.MEMBERS: ["program_number", "name", "kind", "birth_date", "due_date"],
    ImportKind.PAYOUTS: ["round", "kecamatan", "date", "place", "start_time", "end_time", "amount"],
}
IMPORT_ORDER = (
    ImportKind.POSYANDU,
    ImportKind.PEOPLE,
    ImportKind.HOUSEHOLDS,
    ImportKind.MEMBERS,
    ImportKind.PAYOUTS,
)


def _posyandu_code(kecamatan: DemoKecamatan, index: int) -> str:
    return f"P-{kecamatan.code}-{index + 1:02d}"


def posyandu_rows() -> Iterator[list[str]]:
    number = 0
    for kecamatan in KECAMATAN:
        for index, desa in enumerate(kecamatan.desa):
            schedule = SCHEDULES[number % len(SCHEDULES)]
            number += 1
            yield [
                _posyandu_code(kecamatan, index),
                f"Posyandu {desa}",
                kecamatan.name,
                desa,
                schedule,
            ]


def companion_codes(kecamatan: DemoKecamatan) -> list[str]:
    return [f"PD-{kecamatan.code}-{n}" for n in (1, 2)]


def people_rows(rng: random.Random) -> Iterator[list[str]]:
    for kecamatan in KECAMATAN:
        for code in companion_codes(kecamatan):
            yield [
                code,
                f"{rng.choice(MEN + WOMEN)} {rng.choice(FAMILY)}",
                "pendamping",
                kecamatan.name,
                "",
            ]
        yield [
            f"KO-{kecamatan.code}",
            f"{rng.choice(MEN)} {rng.choice(FAMILY)}",
            "koordinator",
            kecamatan.name,
            "",
        ]
        yield [
            f"BD-{kecamatan.code}",
            f"Bidan {rng.choice(WOMEN)}",
            "bidan",
            kecamatan.name,
            _posyandu_code(kecamatan, 0),
        ]
    yield ["TPJK-1", f"{rng.choice(MEN)} {rng.choice(FAMILY)}", "admin", "", ""]


def _unique_nik(used: set[str], kecamatan: DemoKecamatan, birth: date, woman: bool) -> str:
    """A NIK in the real layout (region, birth date +40 for women, serial), unused so far."""
    day = birth.day + (40 if woman else 0)
    prefix = f"{kecamatan.nik_prefix}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
    serial = next(n for n in range(1, 10_000) if f"{prefix}{n:04d}" not in used)
    used.add(f"{prefix}{serial:04d}")
    return f"{prefix}{serial:04d}"


def household_and_member_rows(
    rng: random.Random, households: int, today: date
) -> tuple[list[list[str]], list[list[str]]]:
    household_rows: list[list[str]] = []
    member_rows: list[list[str]] = []
    used_niks: set[str] = set()
    for number in range(1, households + 1):
        kecamatan = KECAMATAN[number % len(KECAMATAN)]
        desa_index = rng.randrange(len(kecamatan.desa))
        program_number = f"RTS-{number:05d}"
        family = rng.choice(FAMILY)
        mother_birth = today - timedelta(days=rng.randint(19 * 365, 40 * 365))
        woman_heads = rng.random() < 0.2
        head = f"{rng.choice(WOMEN if woman_heads else MEN)} {family}"
        head_birth = mother_birth if woman_heads else mother_birth - timedelta(days=900)
        household_rows.append(
            [
                program_number,
                head,
                _unique_nik(used_niks, kecamatan, head_birth, woman_heads),
                kecamatan.name,
                kecamatan.desa[desa_index],
                _posyandu_code(kecamatan, desa_index),
                rng.choice(companion_codes(kecamatan)),
            ]
        )
        mother = head if woman_heads else f"{rng.choice(WOMEN)} {family}"
        if rng.random() < 0.3:
            due = today + timedelta(days=rng.randint(14, 250))
            member_rows.append(
                [program_number, mother, "hamil", mother_birth.isoformat(), due.isoformat()]
            )
        else:
            member_rows.append(
                [program_number, mother, "lainnya", mother_birth.strftime("%d/%m/%Y"), ""]
            )
        names = rng.sample(CHILDREN, k=rng.choice((1, 1, 2, 2, 3)))
        for child in names:
            birth = today - timedelta(days=rng.randint(20, 5 * 365 - 10))
            member_rows.append(
                [program_number, f"{child} {family}", "balita", birth.isoformat(), ""]
            )
    return household_rows, member_rows


def payout_rows(today: date) -> Iterator[list[str]]:
    payout_day = today + timedelta(days=10)
    while payout_day.weekday() >= 5:  # a working day
        payout_day += timedelta(days=1)
    quarter = (payout_day.month - 1) // 3 + 1
    for kecamatan in KECAMATAN:
        yield [
            f"{payout_day.year}-T{quarter}",
            kecamatan.name,
            payout_day.isoformat(),
            kecamatan.post_office,
            "08:00",
            "14:00",
            "750000",
        ]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def write_demo_files(
    folder: Path, *, households: int, today: date, seed: int = 2026
) -> dict[ImportKind, Path]:
    """Write the five registry files of the demo province into `folder`."""
    rng = random.Random(seed)
    household_rows, member_rows = household_and_member_rows(rng, households, today)
    contents = {
        ImportKind.POSYANDU: list(posyandu_rows()),
        ImportKind.PEOPLE: list(people_rows(rng)),
        ImportKind.HOUSEHOLDS: household_rows,
        ImportKind.MEMBERS: member_rows,
        ImportKind.PAYOUTS: list(payout_rows(today)),
    }
    paths = {}
    for kind, rows in contents.items():
        paths[kind] = folder / f"{kind.value}.csv"
        write_csv(paths[kind], CSV_HEADERS[kind], rows)
    return paths


async def load_demo(
    store: Store,
    t: Translator,
    *,
    today: date,
    households: int = DEFAULT_HOUSEHOLDS,
    nik_key: bytes | None = None,
) -> list[ImportReport]:
    """Generate the demo files and import them in order; stop at the first file with problems."""
    reports = []
    with tempfile.TemporaryDirectory(prefix="sapa-demo-") as folder:
        paths = write_demo_files(Path(folder), households=households, today=today)
        for kind in IMPORT_ORDER:
            report = await import_file(
                store,
                kind,
                paths[kind],
                t,
                now=utc_now(),
                nik_key=nik_key,
                actor="demo",
                progress=False,
            )
            reports.append(report)
            if not report.ok:
                break
    return reports
