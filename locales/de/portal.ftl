# Die deutschen Texte des Portals. Jeder Schlüssel steht in jeder Sprache (ein Test prüft das).

skip-to-content = Zum Inhalt springen
nav-label = Hauptmenü
nav-home = Meine Lizenzen und Pools
nav-signed-in-as = Angemeldet als
nav-logout = Abmelden
nav-login = Anmelden
nav-register = Konto anlegen
lang-label = Sprache

error-title = Etwas ist schiefgegangen
error-back = Zurück zur Startseite
error-general = Das hat nicht geklappt. Bitte versuchen Sie es noch einmal.
error-csrf = Dieses Formular ist abgelaufen oder stammt nicht von dieser Seite. Gehen Sie zurück, laden Sie die Seite neu und senden Sie es erneut.
error-internal = Bei uns ist etwas schiefgegangen; es wurde nichts geändert.
error-unavailable = Der Dienst ist kurz nicht erreichbar; es wurde nichts geändert. Bitte versuchen Sie es gleich noch einmal.
error-not-found = Diese Seite gibt es nicht.
error-forbidden = Sie dürfen diese Seite nicht öffnen.
error-too-many = Zu viele Anfragen. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.

field-email = E-Mail
field-password = Passwort
field-name = Name
password-hint = Mindestens 8 Zeichen.

register-title = Konto anlegen
register-button = Konto anlegen
register-have-account = Sie haben schon ein Konto?

login-title = Anmelden
login-button = Anmelden
login-no-account = Neu hier?
login-invalid = E-Mail oder Passwort ist falsch.
login-locked = Zu viele Fehlversuche von dieser Adresse. Bitte warten Sie { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuchen Sie es dann erneut.

welcome-title = Ihre Softwarelizenzen an einem Ort
welcome-lead = Aktivieren Sie Lizenzschlüssel und Einladungscodes, sehen Sie Ihre Pools und geben Sie Ihre Plätze frei, wenn ein Laptop verloren ist.
welcome-step-register = Legen Sie mit Ihrer E-Mail-Adresse ein Konto an.
welcome-step-activate = Aktivieren Sie einen Lizenzschlüssel oder treten Sie mit dem Einladungscode Ihrer Gruppe bei.
welcome-step-use = Starten Sie die Anwendung: Sie belegt einen Platz und gibt ihn beim Schließen wieder frei.

home-title = Meine Lizenzen und Pools
home-empty = Sie haben noch keine Lizenzen. Aktivieren Sie einen Lizenzschlüssel oder einen Einladungscode.
home-own-pool = Mein Pool
home-shared-pool = Geteilt von { $owner }
pool-id = Pool
pool-type = Art
pool-capacity = Plätze
pool-in-use = Belegt
licenses-caption = Lizenzen
license-id = Lizenz
license-seats = Plätze
license-expires = Läuft ab
license-permanent = Nie
home-manage = Diesen Pool verwalten: Einladungen, Mitglieder, Plätze und Einstellungen
home-no-seats = Sie belegen in diesem Pool gerade keinen Platz.
home-my-seats-caption = Meine Plätze in diesem Pool
seat-device = Gerät
seat-platform = Plattform
seat-since = Seit

type-commercial = Kommerziell
type-educational = Bildung
type-government = Behörde
type-student = Studierende
type-semester = Semester
type-trial = Testversion
platform-windows = Windows
platform-mac = Mac
platform-web = Web

err-invalid-email = Das ist keine E-Mail-Adresse.
err-weak-password = Das Passwort muss mindestens 8 Zeichen haben.
err-invalid-value = Bitte prüfen Sie Ihre Angaben: Ein Name hat 1 bis 100 druckbare Zeichen, ein Passwort höchstens 1024 Bytes.
err-email-taken = Es gibt schon ein Konto mit dieser E-Mail-Adresse. Bitte melden Sie sich an.
err-legacy-license-key = Dieser Schlüssel gehört zu einer älteren Produktgeneration und kann hier nicht aktiviert werden.
err-malformed-code = Das ist weder ein Lizenzschlüssel (R-XXX-XXX-XXX-XXX-XXX-XXX) noch ein Einladungscode (I-XXX-XXX-XXX-XXX).
err-unknown-code = Keine Lizenz und kein Pool hat diesen Code. Bitte prüfen Sie ihn auf Tippfehler.
err-license-already-activated = Ein anderes Konto hat diese Lizenz schon aktiviert.
err-license-expired = Diese Lizenz ist abgelaufen.
err-license-type-mismatch = Ihr Pool enthält Lizenzen einer anderen Art; diese Lizenz passt nicht dazu.
err-own-pool = Das ist der Einladungscode Ihres eigenen Pools. Geben Sie ihn an andere weiter.
err-member-blocked = Der Besitzer des Pools hat Sie gesperrt.
err-join-restricted = Dieser Pool nimmt nur Mitglieder mit E-Mail-Adressen seiner Organisation auf.
err-rate-limited = Zu viele Anfragen aus Ihrem Netz oder für Ihr Konto. Bitte warten Sie { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuchen Sie es dann erneut.
err-too-many-attempts = Zu viele Codes, die nicht gepasst haben. Bitte warten Sie { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuchen Sie es dann erneut.

nav-activate = Aktivieren
activate-title = Lizenz aktivieren oder Pool beitreten
activate-field = Lizenzschlüssel oder Einladungscode
activate-hint = Ein Lizenzschlüssel sieht aus wie R-61F-5C0-587-0F5-3A5-CBA, ein Einladungscode wie I-123-456-789-ABC. Leerzeichen und fehlende Bindestriche stören nicht.
activate-button = Aktivieren
activate-added-license = Die Lizenz { $license } ({ $type }, { $seats } Plätze) gehört jetzt zu Ihrem Pool.
activate-license-already = Die Lizenz { $license } ist in Ihrem Pool schon aktiv.
activate-joined = Sie sind dem Pool von { $owner } beigetreten.
activate-member-already = Sie sind schon Mitglied im Pool von { $owner }.
join-title = Einem Pool beitreten
join-pool-of = Der Pool von { $owner }
join-owner = Besitzer
join-code = Einladungscode
join-confirm = Diesem Pool beitreten? Danach können Sie bei jedem Start der Anwendung einen Platz darin belegen.
join-button = Beitreten
join-sign-in-first = Melden Sie sich zuerst an oder legen Sie ein Konto an; danach kommen Sie hierher zurück.
join-unknown = Dieser Einladungslink funktioniert nicht: Der Code ist unbekannt oder wurde ersetzt. Bitten Sie den Besitzer des Pools um den aktuellen Link.
err-email-unconfirmed = Bestätigen Sie zuerst Ihre E-Mail-Adresse: Folgen Sie dem Link, den wir Ihnen geschickt haben, oder senden Sie ihn von Ihrer Startseite aus erneut.

nav-invitations = Meine Einladungen
nav-seats = Meine Plätze
invitations-title = Meine Einladungen
invitations-empty = Sie sind in keinem Pool Mitglied. Bitten Sie eine Lizenzverwaltung um einen Einladungscode oder -link.
invitations-contact = Besitzer kontaktieren
invitations-leave = Verlassen
invitations-blocked = Der Besitzer hat Sie in diesem Pool gesperrt: Sie können darin keine Plätze belegen.
invitations-left = Sie haben den Pool { $pool } verlassen. Ihre Plätze darin wurden freigegeben; mit dem Einladungscode können Sie wieder beitreten.
leave-title = Diesen Pool verlassen?
leave-question = Den Pool von { $owner } verlassen? Ihre Plätze darin werden sofort freigegeben, und zum Wiedereintritt brauchen Sie den Einladungscode.
leave-cancel = Abbrechen
seats-title = Meine Plätze
seats-lead = Jedes Gerät, das gerade einen Platz belegt. Ein freigegebenes Gerät erfährt beim nächsten Heartbeat den Grund und fragt bei Benutzung neu an.
seats-empty = Keines Ihrer Geräte belegt gerade einen Platz.
seats-caption = Geräte mit einem Platz
seats-free-all = Meine Plätze freigeben
seats-release = Freigeben
seats-actions = Aktionen
seats-last-heartbeat = Letzter Heartbeat
seats-offline-until = Offline bis
seats-none-value = –
seats-released = Der Platz { $seat } wurde freigegeben.
seats-freed = { $count ->
    [one] Ein Platz wurde freigegeben.
   *[other] { $count } Plätze wurden freigegeben.
}
