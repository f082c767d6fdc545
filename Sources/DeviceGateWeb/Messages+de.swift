extension BuiltInMessages {
    /// German, addressing the person as "Sie" throughout (the register of sign-in and banking
    /// pages). Same keys and `{placeholders}` as English; buttons are quoted as „Zulassen“.
    static let de = #"""
    # Deutsch: the person is addressed as „Sie“ throughout. Approve = „Zulassen“, Deny = „Ablehnen“.
    language_name = Deutsch
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = Angemeldet
    header_sign_out = Abmelden
    footer_tagline = Geräteanmeldung
    language_switcher = Sprache

    # Code entry (GET /device).
    enter_title = Gerät verbinden
    enter_lead = Geben Sie den Code ein, den Ihr Fernseher, Ihre Konsole oder Ihr anderes Gerät anzeigt.
    enter_code_label = Code
    enter_prefilled_hint = Prüfen Sie, ob dieser Code mit dem auf Ihrem Gerät übereinstimmt, und fahren Sie dann fort.
    enter_continue = Weiter
    code_empty = Geben Sie den Code ein, den Ihr Gerät anzeigt.
    code_invalid_letters = Das ist kein gültiger Code. Ein Code besteht aus {length} Buchstaben, zum Beispiel {example}.
    code_invalid_digits = Das ist kein gültiger Code. Ein Code besteht aus {length} Ziffern, zum Beispiel {example}.
    code_unknown = Diesen Code kennen wir nicht. Vergleichen Sie ihn mit dem Code auf Ihrem Gerät und versuchen Sie es erneut.
    code_expired = Dieser Code ist abgelaufen. Starten Sie den Vorgang auf Ihrem Gerät neu, um einen neuen Code zu erhalten.
    code_used = Dieser Code wurde bereits verwendet. Starten Sie den Vorgang auf Ihrem Gerät neu, wenn Sie einen neuen brauchen.
    code_denied = Diese Anfrage wurde abgelehnt und kann nicht erneut verwendet werden. Starten Sie den Vorgang auf Ihrem Gerät neu.

    # Sign-in (the device page's and a web app's).
    signin_title = Anmelden
    signin_username = Benutzername
    signin_password = Passwort
    signin_submit = Anmelden
    signin_lead = Melden Sie sich an, um fortzufahren.
    signin_lead_client = Melden Sie sich an, um {client} zu verbinden.
    signin_wrong = Benutzername oder Passwort ist falsch.
    device_code_label = Gerätecode

    # Consent for a device (after the code and the sign-in).
    consent_title = Zugriff zulassen?
    consent_lead = {client} möchte sich mit Ihrem Konto verbinden.
    consent_code_hint = Dieser Code sollte mit dem auf Ihrem Gerät übereinstimmen.
    consent_abilities = Es darf dann
    consent_no_scopes = Sich mit Ihrem Konto verbinden, ohne weitere Berechtigungen
    consent_warning_strong = Lassen Sie dies nur zu, wenn Sie den Vorgang selbst gestartet haben
    consent_warning = {warning_strong} – und zwar auf einem Gerät, das sich gerade vor Ihnen befindet.
    consent_warning_more = Wenn Ihnen jemand diesen Code oder einen Link zu dieser Seite geschickt hat oder Sie nicht sicher sind, woher er stammt, wählen Sie „Ablehnen“.
    consent_approve = Zulassen
    consent_deny = Ablehnen
    consent_signed_in_as = Angemeldet als {user}. Wenn Sie zulassen, kann {client} in Ihrem Namen handeln.

    # What a scope allows, in plain words (after „Es darf dann“).
    scope_openid = Wissen, wer Sie sind (Ihre Konto-ID)
    scope_profile = Ihren Namen und Ihr Basisprofil sehen
    scope_email = Ihre E-Mail-Adresse sehen
    scope_offline_access = Verbunden bleiben, auch wenn Sie es gerade nicht verwenden
    scope_groups = Sehen, welchen Gruppen Sie angehören
    scope_generic = Die Berechtigung „{scope}“ verwenden

    # After the decision.
    done_approved_title = Gerät verbunden
    done_approved_lead = {client} ist jetzt mit Ihrem Konto verbunden.
    done_denied_title = Anfrage abgelehnt
    done_denied_lead = {client} hat keinen Zugriff erhalten.
    done_back = Sie können jetzt zu Ihrem Gerät zurückkehren und diese Seite schließen.
    done_another = Weiteres Gerät verbinden

    # A decision that could not be applied.
    error_failed_heading = Das hat nicht funktioniert
    error_bad_request_title = Ungültige Anfrage
    decision_choose = Wählen Sie „Zulassen“ oder „Ablehnen“.
    decision_code_invalid = Der Gerätecode fehlte oder war ungültig.
    decision_signin_heading = Bitte melden Sie sich zuerst an
    decision_signin_text = Ihre Anmeldung ist abgelaufen. Geben Sie den Code erneut ein, um fortzufahren.
    decision_unknown_title = Unbekannter Code
    decision_unknown_heading = Code nicht erkannt
    decision_unknown_text = Diesen Code kennen wir nicht. Starten Sie den Vorgang auf Ihrem Gerät neu.
    decision_expired_title = Code abgelaufen
    decision_expired_heading = Dieser Code ist abgelaufen
    decision_expired_text = Es wurde nichts geändert. Starten Sie den Vorgang auf Ihrem Gerät neu, um einen neuen Code zu erhalten.
    decision_decided_title = Bereits entschieden
    decision_approved_heading = Bereits zugelassen
    decision_approved_text = Diese Anfrage wurde bereits zugelassen, daher wurde nichts geändert. Sie können zu Ihrem Gerät zurückkehren.
    decision_denied_heading = Bereits abgelehnt
    decision_denied_text = Diese Anfrage wurde bereits abgelehnt, daher wurde nichts geändert. Falls das ein Versehen war, starten Sie den Vorgang auf Ihrem Gerät neu.
    decision_other_flow_title = Code erneut eingeben
    decision_other_flow_heading = Diese Seite ist veraltet
    decision_other_flow_text = Es wurde nichts geändert. Die Anfrage, die diese Seite zeigte, ist beendet, und ihr Code gehört jetzt möglicherweise zu einem anderen Gerät. Geben Sie den Code, den Ihr Gerät anzeigt, erneut ein, um zu sehen, was es anfragt.

    # Message pages: errors, limits, the server's own trouble.
    message_back = Zurück zur Codeeingabe
    error_unavailable_title = Später erneut versuchen
    error_unavailable_heading = Etwas ist schiefgelaufen
    error_unavailable_text = Der Server konnte diesen Schritt nicht abschließen. Bitte versuchen Sie es in einer Minute erneut.
    error_not_allowed_title = Nicht erlaubt
    error_not_allowed_text = Diese Seite kann so nicht verwendet werden.
    error_not_found_title = Nicht gefunden
    error_not_found_heading = Seite nicht gefunden
    error_not_found_text = Unter dieser Adresse gibt es keine Seite.
    error_too_large_title = Zu groß
    error_too_large_text = Das gesendete Formular war zu groß.
    error_form_unreadable = Das Formular konnte nicht gelesen werden. Kehren Sie zur Codeeingabe zurück und versuchen Sie es erneut.
    csrf_title = Formular abgelaufen
    csrf_heading = Dieses Formular ist abgelaufen
    csrf_text = Zu Ihrer Sicherheit konnte das Formular nicht angenommen werden. Kehren Sie zur Codeeingabe zurück und versuchen Sie es erneut.
    csrf_detail = Das passiert, wenn eine Seite lange geöffnet war, wenn Sie sich in einem anderen Tab an- oder abgemeldet haben oder wenn Cookies blockiert sind.
    limit_title = Zu viele Versuche
    limit_codes_everyone = Bei diesem Dienst wurden in letzter Zeit zu viele falsche Codes eingegeben, daher pausiert er für alle. Bitte warten Sie {wait} und versuchen Sie es dann erneut.
    limit_codes_network = Aus Ihrem Netzwerk wurden zu viele falsche Codes eingegeben. Bitte warten Sie {wait} und versuchen Sie es dann erneut.
    limit_passwords_everyone = Bei diesem Dienst wurden in letzter Zeit zu viele falsche Passwörter eingegeben, daher pausiert er für alle. Bitte warten Sie {wait} und versuchen Sie es dann erneut.
    limit_passwords_network = Aus Ihrem Netzwerk wurden zu viele falsche Passwörter eingegeben. Bitte warten Sie {wait} und versuchen Sie es dann erneut.
    limit_wait_one_minute = eine Minute
    limit_wait_minutes = {minutes} Minuten
    limit_detail = So wird verhindert, dass jemand die Codes der Geräte anderer Personen errät.
    busy_title = Ausgelastet
    busy_heading = Gerade zu viele Anmeldungen
    busy_text = Der Dienst prüft gerade sehr viele Passwörter, daher wurde Ihres nicht geprüft. Bitte warten Sie einige Sekunden und melden Sie sich erneut an.
    delegated_title = Nicht angemeldet
    delegated_heading = Sie sind nicht angemeldet
    delegated_text = Dieser Dienst meldet Personen über seinen Webserver an, doch mit dieser Anfrage wurde kein angemeldeter Benutzer übermittelt.
    delegated_detail = Falls Sie der Betreiber sind: nginx muss diese location authentifizieren (auth_basic oder auth_request) und den Benutzer als fastcgi_param DEVICEGATE_REMOTE_USER übergeben (siehe nginx/devicegate-verification-basic.conf); REMOTE_USER wird ignoriert.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = Melden Sie sich an, um mit {client} fortzufahren.
    authorize_consent_lead = {client} möchte Sie anmelden und Ihr Konto verwenden.
    authorize_consent_return = Nach Ihrer Entscheidung werden Sie zu {return_host} weitergeleitet.
    authorize_no_scopes = Erfahren, dass Sie sich angemeldet haben, ohne weitere Berechtigungen
    authorize_warning_strong = Lassen Sie dies nur zu, wenn Sie sich selbst bei {client} anmelden wollten
    authorize_warning = {warning_strong} und erwarten, danach zu {return_host} zurückzukehren.
    authorize_refused_title = Anmeldeanfrage abgelehnt
    authorize_refused_heading = Diese Anmeldeanfrage kann nicht verwendet werden
    authorize_unreadable = Die Anmeldeanfrage konnte nicht gelesen werden. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.
    authorize_unknown_application = Unbekannte Anwendung.
    authorize_client_repeated = Die Anfrage nennt ihre Anwendung mehr als einmal.
    authorize_client_missing = Die Anfrage gibt nicht an, welche Anwendung fragt (client_id fehlt).
    authorize_client_unknown = Die Anwendung, die Sie hierher geschickt hat, ist bei diesem Dienst nicht registriert.
    authorize_redirect_repeated = Die Anfrage nennt ihre Rücksprungadresse mehr als einmal.
    authorize_redirect_missing = Die Anfrage gibt nicht an, wohin zurückgekehrt werden soll (redirect_uri fehlt).
    authorize_redirect_unregistered = Die Adresse, zu der diese Anfrage Sie zurückschicken würde, ist für {client} nicht registriert, daher wurden Sie nicht dorthin weitergeleitet.
    authorize_expired = Diese Anmeldung hat zu lange gedauert und ist abgelaufen. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
    authorize_invalid_link = Dieser Anmeldelink ist ungültig. Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
    authorize_no_longer_registered = Die Anwendung, die Sie hierher geschickt hat, ist dafür nicht mehr registriert.
    form_post_title = Weiter
    form_post_hint = Wählen Sie „Weiter“, um zur Anwendung zurückzukehren.
    form_post_continue = Weiter

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = Abmeldeanfrage abgelehnt
    signout_refused_heading = Diese Abmeldeanfrage kann nicht verwendet werden
    signout_refused_text = {reason} Sie sind weiterhin angemeldet.
    signout_unreadable = Die Abmeldeanfrage konnte nicht gelesen werden.
    signout_repeated = Die Abmeldeanfrage wiederholt einen Parameter.
    signout_too_long = Die Abmeldeanfrage ist zu lang.
    signout_foreign_token = Die Abmeldeanfrage enthält ein Anmeldetoken, das dieser Dienst nicht ausgestellt hat.
    signout_two_applications = Die Abmeldeanfrage nennt zwei verschiedene Anwendungen.
    signed_out_title = Abgemeldet
    signed_out_heading = Sie sind abgemeldet
    signed_out_text = Sie sind von {product} abgemeldet.
    signed_out_not_sent = Die Anwendung wollte Sie zu einer Adresse weiterleiten, die für sie nicht registriert ist, daher wurden Sie nicht dorthin weitergeleitet.
    signed_out_web_server = Eine Anmeldung beim Webserver selbst kann noch aktiv sein; schließen Sie den Browser, um sie zu beenden.
    signed_out_hint = Sie können diese Seite schließen.

    # Your devices and who is asking.
    asking_heading = Wer anfragt
    asking_when = Angefragt
    asking_where = Herkunft
    asking_software = Gerätesoftware
    asking_your_network = Ihr Netzwerk
    asking_other_network = ein anderes Netzwerk
    asking_unknown_network = ein unbekanntes Netzwerk
    asking_urgent_title = Diese Anfrage kam aus einem anderen Netzwerk als Ihrem.
    asking_unknown_title = Woher diese Anfrage kam, lässt sich nicht prüfen.
    asking_urgent_text = Wenn sich das Gerät nicht vor Ihnen befindet, versucht möglicherweise jemand anderes, in Ihr Konto zu gelangen. Wählen Sie „Ablehnen“.
    devices_ago_now = gerade eben
    devices_ago_minute = vor 1 Minute
    devices_ago_minutes = vor {minutes} Minuten
    devices_ago_hour = vor 1 Stunde
    devices_ago_hours = vor {hours} Stunden
    devices_ago_day = vor 1 Tag
    devices_ago_days = vor {days} Tagen
    devices_on_date = am {date}
    devices_link = Ihre Geräte
    devices_title = Ihre Geräte
    devices_lead = Diese Geräte und Apps können Ihr Konto verwenden. Trennen Sie alle, die Sie nicht verwenden oder nicht kennen.
    devices_none = Mit Ihrem Konto sind keine Geräte verbunden.
    devices_approved = Zugelassen
    devices_last_used = Zuletzt verwendet
    devices_not_yet = noch nicht
    devices_from = Herkunft
    devices_disconnect = Trennen
    devices_disconnected = {client_name} ist getrennt und kann Ihr Konto nicht mehr verwenden.
    devices_not_found = Dieses Gerät ist nicht mit Ihrem Konto verbunden. Möglicherweise wurde es bereits getrennt.
    devices_sign_in_lead = Melden Sie sich an, um die mit Ihrem Konto verbundenen Geräte zu sehen.
    devices_wrong_password = Benutzername oder Passwort ist falsch.
    devices_connect_another = Gerät verbinden
    devices_not_allowed = Diese Seite kann so nicht verwendet werden.
    """#
}
