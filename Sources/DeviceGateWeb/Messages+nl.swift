extension BuiltInMessages {
    /// Dutch: every key of English (`Messages+en.swift`), with the same `{placeholders}`.
    static let nl = #"""
    # Nederlands. Aanspreekvorm: "je" (informeel, zoals de meeste inlogpagina's), overal gelijk.
    # "Inloggen"/"uitloggen" (niet "aanmelden"); knoppen Goedkeuren en Weigeren.
    language_name = Nederlands
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = Ingelogd
    header_sign_out = Uitloggen
    footer_tagline = inloggen op apparaten
    language_switcher = Taal

    # Code entry (GET /device).
    enter_title = Apparaat koppelen
    enter_lead = Voer de code in die op je tv, console of ander apparaat staat.
    enter_code_label = Code
    enter_prefilled_hint = Controleer of dit overeenkomt met de code op je apparaat en ga dan verder.
    enter_continue = Doorgaan
    code_empty = Voer de code in die op je apparaat staat.
    code_invalid_letters = Dat is geen geldige code. Codes bestaan uit {length} letters, zoals {example}.
    code_invalid_digits = Dat is geen geldige code. Codes bestaan uit {length} cijfers, zoals {example}.
    code_unknown = We herkennen die code niet. Vergelijk hem met de code op je apparaat en probeer het opnieuw.
    code_expired = Die code is verlopen. Begin opnieuw op je apparaat om een nieuwe code te krijgen.
    code_used = Die code is al gebruikt. Begin opnieuw op je apparaat als je een nieuwe nodig hebt.
    code_denied = Dat verzoek is geweigerd en kan niet opnieuw worden gebruikt. Begin opnieuw op je apparaat.

    # Sign-in (the device page's and a web app's).
    signin_title = Inloggen
    signin_username = Gebruikersnaam
    signin_password = Wachtwoord
    signin_submit = Inloggen
    signin_lead = Log in om verder te gaan.
    signin_lead_client = Log in om {client} te koppelen.
    signin_wrong = Onjuiste gebruikersnaam of wachtwoord.
    device_code_label = Apparaatcode

    # Consent for a device (after the code and the sign-in).
    consent_title = Toegang toestaan?
    consent_lead = {client} wil verbinding maken met je account.
    consent_code_hint = Deze code moet overeenkomen met die op je apparaat.
    consent_abilities = Het kan dan
    consent_no_scopes = Verbinding maken met je account, zonder extra rechten
    consent_warning_strong = Keur dit alleen goed als je dit zelf hebt gestart
    consent_warning = {warning_strong}, op een apparaat dat je nu voor je hebt.
    consent_warning_more = Heeft iemand je deze code of een link naar deze pagina gestuurd, of weet je niet zeker waar die vandaan komt? Kies dan Weigeren.
    consent_approve = Goedkeuren
    consent_deny = Weigeren
    consent_signed_in_as = Ingelogd als {user}. Als je goedkeurt, kan {client} namens jou handelen.

    # What a scope allows, in plain words.
    scope_openid = Weten wie je bent (je account-ID)
    scope_profile = Je naam en basisprofiel zien
    scope_email = Je e-mailadres zien
    scope_offline_access = Verbonden blijven terwijl je het niet gebruikt
    scope_groups = Zien bij welke groepen je hoort
    scope_generic = De machtiging “{scope}” gebruiken

    # After the decision.
    done_approved_title = Apparaat gekoppeld
    done_approved_lead = {client} is nu gekoppeld aan je account.
    done_denied_title = Verzoek geweigerd
    done_denied_lead = {client} heeft geen toegang gekregen.
    done_back = Je kunt nu teruggaan naar je apparaat. Deze pagina mag je sluiten.
    done_another = Nog een apparaat koppelen

    # A decision that could not be applied.
    error_failed_heading = Dat is niet gelukt
    error_bad_request_title = Ongeldig verzoek
    decision_choose = Kies Goedkeuren of Weigeren.
    decision_code_invalid = De apparaatcode ontbrak of was ongeldig.
    decision_signin_heading = Log eerst in
    decision_signin_text = Je bent niet meer ingelogd. Voer de code opnieuw in om verder te gaan.
    decision_unknown_title = Onbekende code
    decision_unknown_heading = Code niet herkend
    decision_unknown_text = We herkennen die code niet. Begin opnieuw op je apparaat.
    decision_expired_title = Code verlopen
    decision_expired_heading = Deze code is verlopen
    decision_expired_text = Er is niets gewijzigd. Begin opnieuw op je apparaat om een nieuwe code te krijgen.
    decision_decided_title = Al beslist
    decision_approved_heading = Al goedgekeurd
    decision_approved_text = Dit verzoek was al goedgekeurd, dus er is niets gewijzigd. Je kunt teruggaan naar je apparaat.
    decision_denied_heading = Al geweigerd
    decision_denied_text = Dit verzoek was al geweigerd, dus er is niets gewijzigd. Begin opnieuw op je apparaat als dat een vergissing was.
    decision_other_flow_title = Voer de code opnieuw in
    decision_other_flow_heading = Deze pagina is verouderd
    decision_other_flow_text = Er is niets gewijzigd. Het verzoek dat deze pagina toonde, is beëindigd en de code hoort nu misschien bij een ander apparaat. Voer de code op je apparaat opnieuw in om te zien waar het om vraagt.

    # Message pages: errors, limits, the server's own trouble.
    message_back = Terug naar de code-invoer
    error_unavailable_title = Probeer het later opnieuw
    error_unavailable_heading = Er is iets misgegaan
    error_unavailable_text = De server kon deze stap niet voltooien. Probeer het over een minuut opnieuw.
    error_not_allowed_title = Niet toegestaan
    error_not_allowed_text = Deze pagina kan niet op die manier worden gebruikt.
    error_not_found_title = Niet gevonden
    error_not_found_heading = Pagina niet gevonden
    error_not_found_text = Er is geen pagina op dit adres.
    error_too_large_title = Te groot
    error_too_large_text = Het verzonden formulier was te groot.
    error_form_unreadable = Het formulier kon niet worden gelezen. Ga terug naar de code-invoer en probeer het opnieuw.
    csrf_title = Formulier verlopen
    csrf_heading = Dit formulier is verlopen
    csrf_text = Voor je veiligheid kon het formulier niet worden geaccepteerd. Ga terug naar de code-invoer en probeer het opnieuw.
    csrf_detail = Dit gebeurt als een pagina lang open heeft gestaan, nadat je in een ander tabblad bent in- of uitgelogd, of als cookies worden geblokkeerd.
    limit_title = Te veel pogingen
    limit_codes_everyone = Er zijn de laatste tijd te veel onjuiste codes ingevoerd bij deze dienst, daarom pauzeert de dienst even voor iedereen. Wacht {wait} en probeer het dan opnieuw.
    limit_codes_network = Er zijn te veel onjuiste codes ingevoerd vanaf je netwerk. Wacht {wait} en probeer het dan opnieuw.
    limit_passwords_everyone = Er zijn de laatste tijd te veel onjuiste wachtwoorden ingevoerd bij deze dienst, daarom pauzeert de dienst even voor iedereen. Wacht {wait} en probeer het dan opnieuw.
    limit_passwords_network = Er zijn te veel onjuiste wachtwoorden ingevoerd vanaf je netwerk. Wacht {wait} en probeer het dan opnieuw.
    limit_wait_one_minute = een minuut
    limit_wait_minutes = {minutes} minuten
    limit_detail = Zo kan niemand de codes van andermans apparaten raden.
    busy_title = Druk
    busy_heading = Er loggen nu te veel mensen in
    busy_text = De dienst controleert op dit moment veel wachtwoorden, daarom is jouw wachtwoord niet gecontroleerd. Wacht een paar seconden en log opnieuw in.
    delegated_title = Niet ingelogd
    delegated_heading = Je bent niet ingelogd
    delegated_text = Deze dienst laat mensen inloggen via zijn webserver, en bij dit verzoek kwam geen ingelogde gebruiker mee.
    delegated_detail = Als je de beheerder bent: nginx moet deze location authenticeren (auth_basic of auth_request) en de gebruiker doorgeven als fastcgi_param DEVICEGATE_REMOTE_USER (zie nginx/devicegate-verification-basic.conf); REMOTE_USER wordt genegeerd.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = Log in om verder te gaan naar {client}.
    authorize_consent_lead = {client} wil je laten inloggen en je account gebruiken.
    authorize_consent_return = Nadat je hebt gekozen, word je doorgestuurd naar {return_host}.
    authorize_no_scopes = Weten dat je bent ingelogd, zonder extra rechten
    authorize_warning_strong = Keur dit alleen goed als je zelf aan het inloggen was bij {client}
    authorize_warning = {warning_strong} en verwachtte terug te gaan naar {return_host}.
    authorize_refused_title = Inlogverzoek geweigerd
    authorize_refused_heading = Dit inlogverzoek kan niet worden gebruikt
    authorize_unreadable = Het inlogverzoek kon niet worden gelezen. Ga terug naar de applicatie en probeer het opnieuw.
    authorize_unknown_application = Onbekende applicatie.
    authorize_client_repeated = Het verzoek noemt zijn applicatie meer dan één keer.
    authorize_client_missing = Het verzoek zegt niet welke applicatie het vraagt (client_id ontbreekt).
    authorize_client_unknown = De applicatie die je hierheen stuurde, is niet geregistreerd bij deze dienst.
    authorize_redirect_repeated = Het verzoek noemt zijn terugkeeradres meer dan één keer.
    authorize_redirect_missing = Het verzoek zegt niet waar je naar terug moet (redirect_uri ontbreekt).
    authorize_redirect_unregistered = Het adres waar dit verzoek je naartoe zou sturen, is niet geregistreerd voor {client}, dus je bent daar niet heen gestuurd.
    authorize_expired = Het inloggen duurde te lang en is verlopen. Ga terug naar de applicatie en log opnieuw in.
    authorize_invalid_link = Deze inloglink is ongeldig. Ga terug naar de applicatie en log opnieuw in.
    authorize_no_longer_registered = De applicatie die je hierheen stuurde, is hiervoor niet meer geregistreerd.
    form_post_title = Doorgaan
    form_post_hint = Kies Doorgaan om terug te gaan naar de applicatie.
    form_post_continue = Doorgaan

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = Uitlogverzoek geweigerd
    signout_refused_heading = Dit uitlogverzoek kan niet worden gebruikt
    signout_refused_text = {reason} Je bent nog steeds ingelogd.
    signout_unreadable = Het uitlogverzoek kon niet worden gelezen.
    signout_repeated = Het uitlogverzoek herhaalt een parameter.
    signout_too_long = Het uitlogverzoek is te lang.
    signout_foreign_token = Het uitlogverzoek bevat een inlogtoken dat deze dienst niet heeft uitgegeven.
    signout_two_applications = Het uitlogverzoek noemt twee verschillende applicaties.
    signed_out_title = Uitgelogd
    signed_out_heading = Je bent uitgelogd
    signed_out_text = Je bent uitgelogd bij {product}.
    signed_out_not_sent = De applicatie vroeg om je naar een adres te sturen dat er niet voor is geregistreerd, dus je bent daar niet heen gestuurd.
    signed_out_web_server = Je bent bij je webserver zelf misschien nog ingelogd; sluit de browser om dat te beëindigen.
    signed_out_hint = Deze pagina mag je sluiten.

    # Your devices and who is asking
    asking_heading = Wie vraagt er toegang
    asking_when = Aangevraagd
    asking_where = Vanaf
    asking_software = Software van het apparaat
    asking_your_network = je eigen netwerk
    asking_other_network = een ander netwerk
    asking_unknown_network = een onbekend netwerk
    asking_urgent_title = Dit verzoek kwam van een ander netwerk dan het jouwe.
    asking_unknown_title = Waar dit verzoek vandaan kwam, kan niet worden gecontroleerd.
    asking_urgent_text = Als het apparaat niet voor je staat, probeert iemand anders misschien in je account te komen. Kies Weigeren.
    devices_ago_now = zojuist
    devices_ago_minute = 1 minuut geleden
    devices_ago_minutes = {minutes} minuten geleden
    devices_ago_hour = 1 uur geleden
    devices_ago_hours = {hours} uur geleden
    devices_ago_day = 1 dag geleden
    devices_ago_days = {days} dagen geleden
    devices_on_date = op {date}
    devices_link = Je apparaten
    devices_title = Je apparaten
    devices_lead = Deze apparaten en apps kunnen je account gebruiken. Ontkoppel alles wat je niet gebruikt of niet herkent.
    devices_none = Er zijn geen apparaten aan je account gekoppeld.
    devices_approved = Goedgekeurd
    devices_last_used = Laatst gebruikt
    devices_not_yet = nog niet
    devices_from = Vanaf
    devices_disconnect = Ontkoppelen
    devices_disconnected = {client_name} is ontkoppeld en kan je account niet meer gebruiken.
    devices_not_found = Dat apparaat is niet aan je account gekoppeld. Misschien is het al ontkoppeld.
    devices_sign_in_lead = Log in om de apparaten te zien die aan je account zijn gekoppeld.
    devices_wrong_password = Onjuiste gebruikersnaam of wachtwoord.
    devices_connect_another = Apparaat koppelen
    devices_not_allowed = Deze pagina kan niet op die manier worden gebruikt.
    """#
}
