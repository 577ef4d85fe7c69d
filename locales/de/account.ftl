# Anmelden, E-Mail bestätigen, Passwort zurücksetzen und die E-Mails dazu.

forgot-link = Passwort vergessen?
verify-resend-link = Bestätigungslink erneut senden
verify-resend-title = Bestätigungslink erneut senden
verify-resend-button = Link erneut senden
verify-resent = Wenn ein Konto mit dieser Adresse noch auf die Bestätigung wartet, haben wir ihm einen neuen Link geschickt. Ältere Links funktionieren nicht mehr.
verify-title = E-Mail-Adresse bestätigen
verify-button = Meine E-Mail-Adresse bestätigen
verify-done = Ihre E-Mail-Adresse ist bestätigt. Sie können jetzt Lizenzen aktivieren und Pools beitreten.
verify-pending = Bitte bestätigen Sie Ihre E-Mail-Adresse über den Link, den wir an { $email } geschickt haben. Bis dahin können Sie keine Lizenzen aktivieren und keinen Pools beitreten.
link-expired-title = Dieser Link funktioniert nicht mehr
link-expired = Dieser Link wurde schon benutzt, durch einen neueren ersetzt oder ist abgelaufen.
forgot-title = Passwort zurücksetzen
forgot-lead = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir schicken Ihnen einen Link, mit dem Sie ein neues Passwort setzen; er gilt eine Stunde.
forgot-button = Link zum Zurücksetzen senden
forgot-sent = Wenn es ein Konto mit dieser Adresse gibt, haben wir ihm einen Link für ein neues Passwort geschickt. Er gilt eine Stunde und nur einmal; ältere Links funktionieren nicht mehr.
reset-title = Neues Passwort setzen
reset-field = Neues Passwort
reset-button = Passwort setzen
reset-done = Ihr neues Passwort ist gesetzt. Zu Ihrer Sicherheit wurden Sie überall abgemeldet, und Anwendungen verlangen eine neue Anmeldung.
mail-verify-subject = Bestätigen Sie Ihre E-Mail-Adresse für seatbroker
mail-verify-body = Hallo { $name },

    bitte bestätigen Sie Ihre E-Mail-Adresse, indem Sie diesen Link öffnen:

    { $link }

    Der Link gilt { $hours } Stunden. Wenn Sie kein Konto angelegt haben, ignorieren Sie diese E-Mail.
mail-reset-subject = Neues Passwort für seatbroker
mail-reset-body = Hallo { $name },

    jemand (hoffentlich Sie) möchte ein neues Passwort für Ihr Konto setzen. Öffnen Sie dazu diesen Link:

    { $link }

    Der Link gilt { $hours ->
        [one] eine Stunde
       *[other] { $hours } Stunden
    } und nur einmal. Wenn Sie das nicht waren, ignorieren Sie diese E-Mail; Ihr Passwort bleibt, wie es ist.

nav-profile = Profil
profile-title = Profil
profile-account = Ihr Konto
profile-id = Kontonummer
profile-email-fixed = Ihre E-Mail-Adresse können Sie hier nicht ändern; für eine andere Adresse überträgt der Support Ihre Lizenzen auf ein neues Konto.
profile-language = Sprache des Portals und der E-Mails
profile-language-button = Sprache speichern
profile-language-saved = Ihre Sprache ist gespeichert.
profile-current-password = Aktuelles Passwort
profile-password-button = Passwort ändern
profile-password-changed = Ihr Passwort ist geändert.
profile-wrong-password = Das aktuelle Passwort ist falsch; es wurde nichts geändert.
profile-everywhere-button = Überall abmelden
profile-everywhere-lead = Beendet jede Sitzung dieses Kontos in jedem Browser, und jede Anwendung muss sich neu anmelden: für einen verlorenen Laptop oder einen geteilten Rechner.
profile-delete-heading = Mein Konto löschen
profile-delete-lead = Löscht dieses Konto endgültig: Jeder Platz wird freigegeben, das Konto verlässt jeden beigetretenen Pool, jeder Browser und jede Anwendung wird abgemeldet, und die E-Mail-Adresse kann neu registriert werden. Ein Konto, das Lizenzen hält, kann nicht gelöscht werden: Der Support überträgt sie zuerst auf ein anderes Konto.
profile-delete-password = Ihr Passwort zur Bestätigung
profile-delete-button = Mein Konto löschen
profile-delete-wrong-password = Das Passwort ist falsch; das Konto wurde nicht gelöscht.
profile-delete-owns-licenses = Dieses Konto hält Lizenzen und wurde deshalb nicht gelöscht. Bitten Sie den Support, sie zuerst auf ein anderes Konto zu übertragen.
profile-deleted-title = Ihr Konto ist gelöscht
profile-deleted-lead = Ihre Plätze sind freigegeben, Sie haben jeden Pool verlassen, und jeder Browser und jede Anwendung ist abgemeldet. Sie können sich mit derselben E-Mail-Adresse neu registrieren.
profile-deleted-register = Ein neues Konto registrieren
