select range as n from range(3)
