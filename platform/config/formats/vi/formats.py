# One date style for Vietnamese everywhere: "Thứ Hai, 7 thg 12, 2026, 10:00" (the weekday in words
# and "thg" before the month number: never ambiguous like 12/01/2026).
DATE_FORMAT = r"l, j \t\h\g n, Y"
DATETIME_FORMAT = r"l, j \t\h\g n, Y, H:i"
SHORT_DATE_FORMAT = r"j \t\h\g n, Y"
SHORT_DATETIME_FORMAT = r"j \t\h\g n, Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = r"l, j \t\h\g n"
YEAR_MONTH_FORMAT = r"\T\h\á\n\g n, Y"
FIRST_DAY_OF_WEEK = 1  # Thứ Hai
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
