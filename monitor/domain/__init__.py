"""Pure rules the stages, alerts and the web share: pre-filter, incidents, titles, the answer rules, public URLs, display wording.

No database and no clock here: functions of their arguments.
"""
