"""Domain signals of patients online. Notifications listens and texts the patient
through the outbox, in the transaction of the change.

`phone_code_requested` carries `phone` (E.164), `code_id` (its row) and `code`, the
six digits to text at once (quiet hours do not hold back a code the patient just asked for).
`waitlist_joined` carries `entry`, a patient's new place on the waitlist: they are
texted what they wait for (a changed wish sends nothing).
`waitlist_offer_made` carries `offer` and `link`, the absolute URL of the offer's
page (its token is stored only hashed): the patient may take it by the link or by
replying YES, or pass with NO.
`waitlist_offer_lapsed` carries `offer`: its time went to nobody or to the next
waiter, and the patient, who stays on the waitlist, is told so.
"""

from django.dispatch import Signal

phone_code_requested = Signal()
waitlist_joined = Signal()
waitlist_offer_made = Signal()
waitlist_offer_lapsed = Signal()
