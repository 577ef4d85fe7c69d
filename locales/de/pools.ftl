# Die Seite des Eigentümers eines Pools (/pools/{id}): Einladung, Mitglieder, Plätze,
# Einstellungen, Nutzung. Jeder Schlüssel steht in jeder Sprache (ein Unit-Test prüft das).

pool-admin-title = Pool { $pool } verwalten
pool-admin-waiting = Wartend
pool-admin-sections = Abschnitte dieser Seite
pool-admin-licenses = Lizenzen
pool-admin-no-licenses = Dieser Pool hat keine Lizenzen.
pool-admin-add-license = Eine Lizenz hinzufügen
pool-admin-invitation = Einladung
pool-admin-members = Mitglieder
pool-admin-seats = Plätze
pool-admin-settings = Einstellungen
pool-admin-usage = Nutzung
pool-admin-actions = Aktionen

pool-admin-invite-intro = Wer diesen Code oder Link hat, kann Ihrem Pool beitreten und darin einen Platz belegen. Teilen Sie ihn mit Ihrer Gruppe, zum Beispiel per E-Mail.
pool-admin-invite-code = Einladungscode
pool-admin-invite-url = Einladungslink
pool-admin-copy = Kopieren
pool-admin-copied = Der Einladungslink wurde kopiert.
pool-admin-copy-failed = Kopieren hat hier nicht funktioniert. Markieren Sie den Einladungslink und kopieren Sie ihn selbst.
pool-admin-rotate = Code erneuern
pool-admin-rotate-hint = Erneuern erzeugt einen neuen Code und Link; die bisherigen funktionieren sofort nicht mehr. Die Mitglieder bleiben im Pool.
pool-admin-not-shareable = Lizenzen vom Typ { $type } sind persönlich und können nicht geteilt werden: Dieser Pool hat keinen Einladungscode und keine Mitglieder.
pool-admin-done-rotated = Der Einladungscode wurde ersetzt. Der neue Code ist { $code }; der alte Code und Link funktionieren nicht mehr.

pool-admin-domain = Wer beitreten darf
pool-admin-domain-anyone = Derzeit kann jede Person mit dem Code oder Link beitreten.
pool-admin-domain-now = Derzeit können nur Personen mit einer E-Mail-Adresse bei { $domain } oder einer ihrer Subdomains beitreten.
pool-admin-domain-field = E-Mail-Domain
pool-admin-domain-hint = Zum Beispiel uni.edu; ihre Subdomains sind ebenfalls zugelassen. Lassen Sie das Feld leer, damit jede Person mit dem Code beitreten kann. Bereits beigetretene Mitglieder bleiben.
pool-admin-domain-save = Einschränkung speichern
pool-admin-domain-invalid = Die E-Mail-Domain muss eine Domain wie uni.edu sein, oder leer für alle.
pool-admin-done-domain = Gespeichert: Die Einschränkung gilt für alle, die ab jetzt beitreten.

pool-admin-no-members = Bisher ist niemand beigetreten. Teilen Sie den Einladungscode oder -link.
pool-admin-members-hint = Sperren gibt die Plätze des Mitglieds sofort frei; ein gesperrtes Mitglied bleibt in der Liste und kann keinen Platz belegen, bis es entsperrt wird. Entfernen nimmt das Mitglied aus der Liste; es kann mit dem Code erneut beitreten.
pool-admin-members-caption = Mitglieder ({ $count })
pool-admin-member-email = E-Mail
pool-admin-member-name = Name
pool-admin-member-status = Status
pool-admin-member-seats = Belegte Plätze
pool-admin-status-active = Aktiv
pool-admin-status-blocked = Gesperrt
pool-admin-block = Sperren
pool-admin-unblock = Entsperren
pool-admin-remove = Entfernen
pool-admin-done-blocked = Das Mitglied ist gesperrt; seine Plätze wurden freigegeben.
pool-admin-done-unblocked = Das Mitglied ist entsperrt und kann wieder einen Platz belegen.
pool-admin-done-removed = Das Mitglied wurde aus dem Pool entfernt.

pool-admin-no-seats = Zurzeit ist kein Platz belegt.
pool-admin-seats-hint = Belegte Plätze: { $held }; sie nutzen { $in_use } der Kapazität des Pools (zwei Desktop-Geräte des Eigentümers teilen sich einen). Freigeben macht einen Platz sofort frei; die Anwendung auf dem Gerät erfährt, dass ihr Platz zurückgenommen wurde.
pool-admin-seat-holder = Belegt von
pool-admin-seat-owner = { $name } (Eigentümer)
pool-admin-seat-deadline = Heartbeat-Frist
pool-admin-seat-offline-until = Offline reserviert bis { $time }
pool-admin-seat-no-heartbeat = Bleibt ohne Heartbeats
pool-admin-release = Freigeben
pool-admin-done-released = Der Platz wurde freigegeben; er steht jetzt anderen zur Verfügung.
pool-admin-done-seat-gone = Dieser Platz war bereits frei.

pool-admin-timeout = Heartbeat-Zeitlimit (Sekunden)
pool-admin-timeout-hint = Ein Platz, dessen Anwendung so lange keinen Heartbeat gesendet hat, wird freigegeben. Von 1 bis { $max } Sekunden; 28800 sind 8 Stunden.
pool-admin-offline = Offline-Grenze (Tage)
pool-admin-offline-hint = Wie lange ein Mitglied einen Platz höchstens für die Offline-Arbeit reservieren darf. Von 0 (keine Offline-Nutzung) bis { $max } Tage.
pool-admin-idle = Rückholung bei Inaktivität (Sekunden)
pool-admin-idle-hint = Wenn jemand wartet, kann ein Platz, dessen Nutzer so lange inaktiv war, zurückgeholt werden. Von 1 bis { $max } Sekunden; leer lassen, um dies auszuschalten.
pool-admin-settings-save = Einstellungen speichern
pool-admin-bounds-timeout = Das Heartbeat-Zeitlimit muss { $min } bis { $max } Sekunden betragen. Es wurde nichts geändert.
pool-admin-bounds-offline = Die Offline-Grenze muss { $min } bis { $max } Tage betragen. Es wurde nichts geändert.
pool-admin-bounds-idle = Die Rückholung bei Inaktivität muss { $min } bis { $max } Sekunden betragen, oder leer für aus. Es wurde nichts geändert.
pool-admin-done-settings = Die Einstellungen wurden gespeichert.

pool-admin-usage-hint = Die meisten gleichzeitig belegten Plätze an jedem Tag (UTC), verglichen mit der Kapazität des Pools. Tage, an denen Anfragen nach einem Platz abgelehnt wurden, sind markiert; sie deuten darauf hin, dass der Pool mehr Plätze braucht.
pool-admin-legend-peak = Höchstzahl belegter Plätze
pool-admin-legend-capacity = Kapazität
pool-admin-legend-refusals = Abgelehnte Anfragen
pool-admin-usage-7 = Letzte 7 Tage
pool-admin-usage-30 = Letzte { $days } Tage
pool-admin-usage-caption = { $period }, pro Tag
pool-admin-usage-date = Datum
pool-admin-usage-peak = Spitze
pool-admin-usage-capacity = Plätze
pool-admin-usage-refusals = Abgelehnt
pool-admin-chart-summary = { $period }: höchstens gleichzeitig belegte Plätze: { $peak }; Kapazität jetzt: { $capacity }; abgelehnte Anfragen: { $refusals }.
pool-admin-chart-day = { $date }: höchstens { $peak } von { $capacity }, { $refusals } abgelehnt
# Der Tag unter einem Diagramm: MM ist der Monat, DD der Tag, jeweils zweistellig.
pool-admin-chart-date = DD.MM.
