# The portal's English strings. Every key here exists in every language (a unit test checks).

skip-to-content = Skip to content
nav-label = Main
nav-home = My licenses and pools
nav-signed-in-as = Signed in as
nav-logout = Log out
nav-login = Log in
nav-register = Create account
lang-label = Language

error-title = Something went wrong
error-back = Back to the start page
error-general = That did not work. Please try again.
error-csrf = This form has expired or did not come from this site. Go back, reload the page and send it again.
error-internal = Something went wrong on our side; nothing was changed.
error-unavailable = The service is briefly unavailable; nothing was changed. Please try again in a moment.
error-not-found = There is no such page.
error-forbidden = You may not open this page.
error-too-many = Too many requests. Please wait a few minutes and try again.

field-email = Email
field-password = Password
field-name = Name
password-hint = At least 8 characters.

register-title = Create your account
register-button = Create account
register-have-account = Already have an account?

login-title = Log in
login-button = Log in
login-no-account = New here?
login-invalid = The email or the password is wrong.
login-locked = Too many failed attempts from this address. Please wait { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} and try again.

welcome-title = Your software licenses, in one place
welcome-lead = Activate the license keys and invite codes you received, see the pools you belong to, and free up your seats when a laptop is gone.
welcome-step-register = Create an account with your email address.
welcome-step-activate = Activate a license key, or join your group with its invite code.
welcome-step-use = Start the application: it takes a seat, and gives it back when you close it.

home-title = My licenses and pools
home-empty = You have no licenses yet. Activate a license key or an invite code to get started.
home-own-pool = My pool
home-shared-pool = Shared with me by { $owner }
pool-id = Pool
pool-type = Type
pool-capacity = Seats
pool-in-use = In use
licenses-caption = Licenses
license-id = License
license-seats = Seats
license-expires = Expires
license-permanent = Never
home-manage = Manage this pool: invitations, members, seats and settings
home-no-seats = You hold no seat in this pool right now.
home-my-seats-caption = My seats in this pool
seat-device = Device
seat-platform = Platform
seat-since = Since

type-commercial = Commercial
type-educational = Educational
type-government = Government
type-student = Student
type-semester = Semester
type-trial = Trial
platform-windows = Windows
platform-mac = Mac
platform-web = Web

err-invalid-email = This is not an email address.
err-weak-password = The password must have at least 8 characters.
err-invalid-value = Check your entries: a name has 1 to 100 printable characters, a password at most 1024 bytes.
err-email-taken = An account with this email exists already. Log in instead.
err-legacy-license-key = This key belongs to an older product generation and cannot be activated here.
err-malformed-code = This is not a license key (R-XXX-XXX-XXX-XXX-XXX-XXX) or an invite code (I-XXX-XXX-XXX-XXX).
err-unknown-code = No license or pool has this code. Check it for typing errors.
err-license-already-activated = Another account has activated this license already.
err-license-expired = This license has expired.
err-license-type-mismatch = Your pool holds licenses of another type; this license cannot join it.
err-own-pool = This is your own pool's invite code. Share it with others.
err-member-blocked = The pool's owner has blocked you.
err-join-restricted = This pool only takes members with email addresses of its organisation.
err-rate-limited = Too many requests from your network or for your account. Please wait { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} and try again.
err-too-many-attempts = Too many codes that did not work. Please wait { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} and try again.

nav-activate = Activate
activate-title = Activate a license or join a pool
activate-field = License key or invite code
activate-hint = A license key looks like R-61F-5C0-587-0F5-3A5-CBA, an invite code like I-123-456-789-ABC. Spaces and missing dashes do not matter.
activate-button = Activate
activate-added-license = License { $license } ({ $type }, { $seats } seats) was added to your pool.
activate-license-already = License { $license } is active in your pool already.
activate-joined = You joined the pool of { $owner }.
activate-member-already = You are a member of the pool of { $owner } already.
join-title = Join a pool
join-pool-of = The pool of { $owner }
join-owner = Owner
join-code = Invite code
join-confirm = Join this pool? You can then take a seat in it whenever the application starts.
join-button = Join
join-sign-in-first = Log in or create an account first; you will come back here.
join-unknown = This invite link does not work: the code is unknown or was replaced by a new one. Ask the pool's owner for the current link.
err-email-unconfirmed = Confirm your email address first: follow the link we sent you, or send it again from your start page.

nav-invitations = My Invitations
nav-seats = My seats
invitations-title = My Invitations
invitations-empty = You are not a member of any pool. Ask a license administrator for an invite code or link.
invitations-contact = Contact owner
invitations-leave = Leave
invitations-blocked = The owner has blocked you in this pool: you cannot take seats in it.
invitations-left = You left pool { $pool }. Your seats in it were released; the invite code lets you join again.
leave-title = Leave this pool?
leave-question = Leave the pool of { $owner }? Your seats in it are released at once, and you need the invite code to join again.
leave-cancel = Cancel
seats-title = My seats
seats-lead = Each device that holds a seat now. A device you release hears why on its next heartbeat and asks again when it is used.
seats-empty = None of your devices holds a seat right now.
seats-caption = Devices holding a seat
seats-free-all = Free up my seats
seats-release = Release
seats-actions = Actions
seats-last-heartbeat = Last heartbeat
seats-offline-until = Offline until
seats-none-value = –
seats-released = Seat { $seat } was released.
seats-freed = { $count ->
    [one] One seat was released.
   *[other] { $count } seats were released.
}
