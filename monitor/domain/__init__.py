"""Pure rules shared by the stages, alerts and the web.

Pre-filter, incidents, titles, the answer rules, public URLs, display wording: functions of their
arguments, no database and no clock.
"""
