# Signing in, confirming the email, resetting a password, and the emails sent for them.

forgot-link = Forgot password?
verify-resend-link = Send the confirmation link again
verify-resend-title = Send the confirmation link again
verify-resend-button = Send the link again
verify-resent = If an account with this address still waits for confirmation, we sent it a new link. Older links no longer work.
verify-title = Confirm your email address
verify-button = Confirm my email address
verify-done = Your email address is confirmed. You can now activate licenses and join pools.
verify-pending = Please confirm your email address: follow the link we sent to { $email }. Until then you cannot activate licenses or join pools.
link-expired-title = This link no longer works
link-expired = This link was used already, replaced by a newer one, or has expired.
forgot-title = Reset your password
forgot-lead = Enter the email address of your account. We send you a link to set a new password; it works for one hour.
forgot-button = Send reset link
forgot-sent = If an account exists for this address, we sent it a link to set a new password. It works for one hour, once; older links no longer work.
reset-title = Set a new password
reset-field = New password
reset-button = Set password
reset-done = Your new password is set. For your safety you were logged out everywhere, and apps need you to log in again.
mail-verify-subject = Confirm your email address for seatbroker
mail-verify-body = Hello { $name },

    please confirm your email address by opening this link:

    { $link }

    The link works for { $hours } hours. If you did not create an account, ignore this email.
mail-reset-subject = Set a new password for seatbroker
mail-reset-body = Hello { $name },

    someone (hopefully you) asked to set a new password for your account. Open this link to do it:

    { $link }

    The link works for { $hours ->
        [one] one hour
       *[other] { $hours } hours
    }, once. If you did not ask for it, ignore this email; your password stays as it is.

nav-profile = Profile
profile-title = Profile
profile-account = Your account
profile-id = Account id
profile-email-fixed = Your email address cannot be changed here; if you need another one, support moves your licenses to a new account.
profile-language = Language of the portal and of emails
profile-language-button = Save language
profile-language-saved = Your language is saved.
profile-current-password = Current password
profile-password-button = Change password
profile-password-changed = Your password is changed.
profile-wrong-password = The current password is wrong; nothing was changed.
profile-everywhere-button = Log out everywhere
profile-everywhere-lead = Ends every session of this account on every browser and makes every app log in again: for a lost laptop or a shared computer.
profile-delete-heading = Delete my account
profile-delete-lead = Deletes this account for good: every seat it holds is released, it leaves every pool it joined, every browser and app is logged out, and the email address can be registered again. An account that holds licenses cannot be deleted: support first moves them to another account.
profile-delete-password = Your password, to confirm
profile-delete-button = Delete my account
profile-delete-wrong-password = The password is wrong; the account was not deleted.
profile-delete-owns-licenses = This account holds licenses, so it was not deleted. Ask support to move them to another account first, then delete it.
profile-deleted-title = Your account is deleted
profile-deleted-lead = Your seats are released, you left every pool, and every browser and app is logged out. You may register again with the same email.
profile-deleted-register = Register a new account
