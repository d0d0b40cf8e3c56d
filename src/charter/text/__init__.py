"""Text matching, shared by checking (a regex must compile) and compiling (the matchers):
linear-time regexes on RE2, whole-word phrases, their prefilters, and the built-in checks a
pattern can require (`where payment_card`)."""
