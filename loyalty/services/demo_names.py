"""Vietnamese words for demo customers: people's names, company names and provinces.

Weights follow the rough shares of family names and of an ISP's subscribers per province, so
that reports on demo data look like reports on a real customer base.
"""
from __future__ import annotations

from bisect import bisect
from itertools import accumulate
from random import Random

FAMILY_NAMES = (("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4),
                ("Phan", 4), ("Vũ", 4), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
                ("Ngô", 2), ("Dương", 1), ("Lý", 1))
MALE = (("Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh", "Công", "Quốc"),
        ("An", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Khánh", "Long", "Minh", "Nam", "Phúc",
         "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Đạt", "Hiếu"))
FEMALE = (("Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Hồng", "Kim", "Phương"),
          ("Anh", "Bích", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
           "Ngân", "Nhung", "Phương", "Thảo", "Trang", "Vân", "Yến", "Huyền", "Loan"))
BRAND_SYLLABLES = ("An", "Phát", "Minh", "Long", "Hoàng", "Gia", "Thành", "Đạt", "Phú", "Quý",
                   "Tân", "Tiến", "Hưng", "Thịnh", "Vượng", "Việt", "Nam", "Á", "Châu", "Bình",
                   "Sao", "Mai", "Kim", "Ngọc", "Đông", "Trường", "Sơn", "Hải", "Thái", "Bảo",
                   "Khang", "Lộc", "Phước", "Hòa", "Nhật", "Tín")
INDUSTRIES = ("Thương mại", "Dịch vụ", "Xây dựng", "Công nghệ", "Sản xuất", "Vận tải", "Du lịch",
              "Thực phẩm", "Đầu tư", "Kỹ thuật", "Nội thất", "Dược phẩm", "Giáo dục", "Logistics")
SME_FORMS = ("Công ty TNHH {industry} {brand}", "Công ty TNHH {brand}",
             "Công ty Cổ phần {industry} {brand}", "Công ty Cổ phần {brand}",
             "Doanh nghiệp tư nhân {brand}")
ENTERPRISE_FORMS = ("Tập đoàn {brand}", "Tập đoàn {industry} {brand}",
                    "Tổng công ty {industry} {brand}")
REGIONS = (("TP. Hồ Chí Minh", 26), ("Hà Nội", 23), ("Hải Phòng", 6), ("Đà Nẵng", 5),
           ("Cần Thơ", 4), ("Đồng Nai", 5), ("Bắc Ninh", 4), ("Thừa Thiên Huế", 3),
           ("Khánh Hòa", 3), ("Quảng Ninh", 3), ("Nghệ An", 3), ("Thanh Hóa", 3),
           ("Lâm Đồng", 2), ("An Giang", 2), ("Quảng Ngãi", 2), ("Thái Nguyên", 2))


def below(rnd: Random, n: int) -> int:
    """A uniform integer in [0, n): `randrange` costs three times as much, and loads draw millions."""
    return int(rnd.random() * n)


class Weighted:
    """A fast weighted choice: one random number and a bisection, no list building per call."""

    def __init__(self, pairs: tuple[tuple[str, int], ...]):
        self.values = [value for value, _ in pairs]
        self.bounds = list(accumulate(weight for _, weight in pairs))
        self.total = self.bounds[-1]

    def pick(self, rnd: Random) -> str:
        return self.values[bisect(self.bounds, rnd.random() * self.total)]


FAMILY = Weighted(FAMILY_NAMES)
REGION = Weighted(REGIONS)


def person_name(rnd: Random) -> str:
    """A home customer's full name: family, middle and given name, e.g. Nguyễn Văn An."""
    middles, givens = MALE if rnd.random() < 0.5 else FEMALE
    return f"{FAMILY.pick(rnd)} {middles[below(rnd, len(middles))]} {givens[below(rnd, len(givens))]}"


def company_name(rnd: Random, segment: str) -> str:
    """A business name in the forms Vietnamese registries use, e.g. Công ty TNHH An Phát."""
    forms = ENTERPRISE_FORMS if segment == "enterprise" else SME_FORMS
    first = below(rnd, len(BRAND_SYLLABLES))
    second = (first + 1 + below(rnd, len(BRAND_SYLLABLES) - 1)) % len(BRAND_SYLLABLES)
    return forms[below(rnd, len(forms))].format(
        industry=INDUSTRIES[below(rnd, len(INDUSTRIES))],
        brand=f"{BRAND_SYLLABLES[first]} {BRAND_SYLLABLES[second]}",
    )


def customer_name(rnd: Random, segment: str) -> str:
    """A person's name for home customers, a company's for sme and enterprise."""
    return person_name(rnd) if segment == "home" else company_name(rnd, segment)


def region(rnd: Random) -> str:
    """A province or centrally run city, weighted by where subscribers live."""
    return REGION.pick(rnd)
