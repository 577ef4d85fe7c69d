# The owner's page of a pool (/pools/{id}): invitation, members, seats, settings, usage.
# Every key here exists in every language (a unit test checks).

pool-admin-title = Manage pool { $pool }
pool-admin-waiting = Waiting
pool-admin-sections = Sections of this page
pool-admin-licenses = Licenses
pool-admin-no-licenses = This pool has no licenses.
pool-admin-add-license = Add a license
pool-admin-invitation = Invitation
pool-admin-members = Members
pool-admin-seats = Seats
pool-admin-settings = Settings
pool-admin-usage = Usage
pool-admin-actions = Actions

pool-admin-invite-intro = Anyone with this code or link can join your pool and take a seat in it. Share it with your group, for example by email.
pool-admin-invite-code = Invite code
pool-admin-invite-url = Invite URL
pool-admin-copy = Copy
pool-admin-copied = The invite URL was copied.
pool-admin-copy-failed = Copying did not work here. Select the invite URL and copy it yourself.
pool-admin-rotate = Rotate code
pool-admin-rotate-hint = Rotating makes a new code and link; the current ones stop working at once. Members stay in the pool.
pool-admin-not-shareable = { $type } licenses are personal and cannot be shared: this pool has no invite code and no members.
pool-admin-done-rotated = The invite code was replaced. The new code is { $code }; the old code and link no longer work.

pool-admin-domain = Who may join
pool-admin-domain-anyone = Now anyone with the code or link can join.
pool-admin-domain-now = Now only people with an email address at { $domain } or one of its subdomains can join.
pool-admin-domain-field = Email domain
pool-admin-domain-hint = For example uni.edu; its subdomains are admitted too. Leave the field empty to let anyone with the code join. Members who joined already stay.
pool-admin-domain-save = Save restriction
pool-admin-domain-invalid = The email domain must be a domain such as uni.edu, or empty for anyone.
pool-admin-done-domain = Saved: the restriction applies to everyone who joins from now on.

pool-admin-no-members = No one has joined yet. Share the invite code or link.
pool-admin-members-hint = Blocking frees the member's seats at once; a blocked member stays on the list and cannot take a seat until unblocked. Removing takes the member off the list; they can join again with the code.
pool-admin-members-caption = Members ({ $count })
pool-admin-member-email = Email
pool-admin-member-name = Name
pool-admin-member-status = Status
pool-admin-member-seats = Seats in use
pool-admin-status-active = Active
pool-admin-status-blocked = Blocked
pool-admin-block = Block
pool-admin-unblock = Unblock
pool-admin-remove = Remove
pool-admin-done-blocked = The member is blocked; their seats were freed.
pool-admin-done-unblocked = The member is unblocked and can take a seat again.
pool-admin-done-removed = The member was removed from the pool.

pool-admin-no-seats = No seat is taken right now.
pool-admin-seats-hint = Seats held: { $held }, using { $in_use } of the pool's capacity (two desktop devices of the owner share one). Releasing a seat frees it at once; the application on that device is told its seat was taken back.
pool-admin-seat-holder = Held by
pool-admin-seat-owner = { $name } (owner)
pool-admin-seat-deadline = Heartbeat deadline
pool-admin-seat-offline-until = Reserved offline until { $time }
pool-admin-seat-no-heartbeat = Kept without heartbeats
pool-admin-release = Release
pool-admin-done-released = The seat was released; it is free for someone else.
pool-admin-done-seat-gone = This seat had been freed already.

pool-admin-timeout = Heartbeat timeout (seconds)
pool-admin-timeout-hint = A seat whose application sent no heartbeat for this long is freed. From 1 to { $max } seconds; 28800 is 8 hours.
pool-admin-offline = Offline limit (days)
pool-admin-offline-hint = The longest time a member may reserve a seat for working offline. From 0 (no offline use) to { $max } days.
pool-admin-idle = Idle reclaim (seconds)
pool-admin-idle-hint = When someone is waiting, a seat whose user has been inactive this long can be taken back. From 1 to { $max } seconds; leave empty to turn this off.
pool-admin-settings-save = Save settings
pool-admin-bounds-timeout = The heartbeat timeout must be { $min } to { $max } seconds. Nothing was changed.
pool-admin-bounds-offline = The offline limit must be { $min } to { $max } days. Nothing was changed.
pool-admin-bounds-idle = The idle reclaim must be { $min } to { $max } seconds, or empty for off. Nothing was changed.
pool-admin-done-settings = The settings were saved.

pool-admin-usage-hint = The most seats in use at the same time on each day (UTC), against the pool's capacity. Days on which requests for a seat were refused are marked; they suggest the pool needs more seats.
pool-admin-legend-peak = Peak seats in use
pool-admin-legend-capacity = Capacity
pool-admin-legend-refusals = Requests refused
pool-admin-usage-7 = Last 7 days
pool-admin-usage-30 = Last { $days } days
pool-admin-usage-caption = { $period }, per day
pool-admin-usage-date = Date
pool-admin-usage-peak = Peak
pool-admin-usage-capacity = Capacity
pool-admin-usage-refusals = Refused
pool-admin-chart-summary = { $period }: most seats in use at once: { $peak }; capacity now: { $capacity }; requests refused: { $refusals }.
pool-admin-chart-day = { $date }: peak { $peak } of { $capacity }, { $refusals } refused
# The day under a chart: MM is the month, DD the day, both with two digits.
pool-admin-chart-date = MM-DD
