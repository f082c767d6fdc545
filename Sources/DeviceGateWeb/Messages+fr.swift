extension BuiltInMessages {
    /// French, addressing the person as "vous" throughout, in wording that stays neutral in
    /// gender ("session ouverte" rather than "connecté·e"). French typography: a no-break space
    /// (U+00A0) before « ? : ; » and inside « guillemets ». Same keys and `{placeholders}` as English.
    static let fr = #"""
    # Français : la personne est vouvoyée partout. Approve = « Autoriser », Deny = « Refuser ».
    # Les espaces avant ? : ; et à l’intérieur des guillemets sont insécables (U+00A0).
    language_name = Français
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = Session ouverte
    header_sign_out = Se déconnecter
    footer_tagline = connexion des appareils
    language_switcher = Langue

    # Code entry (GET /device).
    enter_title = Connecter un appareil
    enter_lead = Saisissez le code affiché sur votre téléviseur, votre console ou tout autre appareil.
    enter_code_label = Code
    enter_prefilled_hint = Vérifiez que ce code correspond à celui affiché sur votre appareil, puis continuez.
    enter_continue = Continuer
    code_empty = Saisissez le code affiché sur votre appareil.
    code_invalid_letters = Ce code n’est pas valide. Un code comporte {length} lettres, par exemple {example}.
    code_invalid_digits = Ce code n’est pas valide. Un code comporte {length} chiffres, par exemple {example}.
    code_unknown = Nous ne reconnaissons pas ce code. Comparez-le au code affiché sur votre appareil et réessayez.
    code_expired = Ce code a expiré. Recommencez sur votre appareil pour obtenir un nouveau code.
    code_used = Ce code a déjà été utilisé. Recommencez sur votre appareil si vous avez besoin d’un nouveau code.
    code_denied = Cette demande a été refusée et ne peut plus être utilisée. Recommencez sur votre appareil.

    # Sign-in (the device page's and a web app's).
    signin_title = Connexion
    signin_username = Nom d’utilisateur
    signin_password = Mot de passe
    signin_submit = Se connecter
    signin_lead = Connectez-vous pour continuer.
    signin_lead_client = Connectez-vous pour relier {client} à votre compte.
    signin_wrong = Nom d’utilisateur ou mot de passe incorrect.
    device_code_label = Code de l’appareil

    # Consent for a device (after the code and the sign-in).
    consent_title = Autoriser l’accès ?
    consent_lead = {client} souhaite se connecter à votre compte.
    consent_code_hint = Ce code doit correspondre à celui affiché sur votre appareil.
    consent_abilities = Il pourra
    consent_no_scopes = Se connecter à votre compte, sans autre autorisation
    consent_warning_strong = N’autorisez l’accès que si vous avez lancé cette demande vous-même
    consent_warning = {warning_strong}, sur un appareil qui se trouve devant vous en ce moment.
    consent_warning_more = Si quelqu’un vous a envoyé ce code ou un lien vers cette page, ou si vous ne savez pas d’où il vient, choisissez « Refuser ».
    consent_approve = Autoriser
    consent_deny = Refuser
    consent_signed_in_as = Session ouverte en tant que {user}. En autorisant l’accès, vous permettez à {client} d’agir en votre nom.

    # What a scope allows, in plain words (after « Il pourra »).
    scope_openid = Savoir qui vous êtes (l’identifiant de votre compte)
    scope_profile = Voir votre nom et votre profil de base
    scope_email = Voir votre adresse e-mail
    scope_offline_access = Rester connecté lorsque vous ne l’utilisez pas
    scope_groups = Voir les groupes dont vous faites partie
    scope_generic = Utiliser l’autorisation « {scope} »

    # After the decision.
    done_approved_title = Appareil connecté
    done_approved_lead = {client} est maintenant connecté à votre compte.
    done_denied_title = Demande refusée
    done_denied_lead = {client} n’a pas obtenu l’accès.
    done_back = Vous pouvez maintenant revenir à votre appareil et fermer cette page.
    done_another = Connecter un autre appareil

    # A decision that could not be applied.
    error_failed_heading = Cela n’a pas fonctionné
    error_bad_request_title = Demande non valide
    decision_choose = Choisissez « Autoriser » ou « Refuser ».
    decision_code_invalid = Le code de l’appareil est manquant ou non valide.
    decision_signin_heading = Veuillez d’abord vous connecter
    decision_signin_text = Votre session a pris fin. Saisissez à nouveau le code pour continuer.
    decision_unknown_title = Code inconnu
    decision_unknown_heading = Code non reconnu
    decision_unknown_text = Nous ne reconnaissons pas ce code. Recommencez sur votre appareil.
    decision_expired_title = Code expiré
    decision_expired_heading = Ce code a expiré
    decision_expired_text = Rien n’a été modifié. Recommencez sur votre appareil pour obtenir un nouveau code.
    decision_decided_title = Décision déjà prise
    decision_approved_heading = Déjà autorisée
    decision_approved_text = Cette demande a déjà été autorisée ; rien n’a donc été modifié. Vous pouvez revenir à votre appareil.
    decision_denied_heading = Déjà refusée
    decision_denied_text = Cette demande a déjà été refusée ; rien n’a donc été modifié. S’il s’agit d’une erreur, recommencez sur votre appareil.
    decision_other_flow_title = Saisissez à nouveau le code
    decision_other_flow_heading = Cette page n’est plus à jour
    decision_other_flow_text = Rien n’a été modifié. La demande affichée sur cette page est terminée, et son code appartient peut-être désormais à un autre appareil. Saisissez à nouveau le code affiché sur votre appareil pour voir ce qu’il demande.

    # Message pages: errors, limits, the server's own trouble.
    message_back = Retour à la saisie du code
    error_unavailable_title = Réessayez plus tard
    error_unavailable_heading = Un problème est survenu
    error_unavailable_text = Le serveur n’a pas pu terminer cette étape. Veuillez réessayer dans une minute.
    error_not_allowed_title = Non autorisé
    error_not_allowed_text = Cette page ne peut pas être utilisée de cette façon.
    error_not_found_title = Introuvable
    error_not_found_heading = Page introuvable
    error_not_found_text = Il n’y a aucune page à cette adresse.
    error_too_large_title = Trop volumineux
    error_too_large_text = Le formulaire envoyé était trop volumineux.
    error_form_unreadable = Le formulaire n’a pas pu être lu. Revenez à la saisie du code et réessayez.
    csrf_title = Formulaire expiré
    csrf_heading = Ce formulaire a expiré
    csrf_text = Pour votre sécurité, le formulaire n’a pas pu être accepté. Revenez à la saisie du code et réessayez.
    csrf_detail = Cela se produit lorsqu’une page est restée ouverte longtemps, après une connexion ou une déconnexion dans un autre onglet, ou lorsque les cookies sont bloqués.
    limit_title = Trop de tentatives
    limit_codes_everyone = Trop de codes erronés ont été saisis récemment sur ce service ; il est donc mis en pause pour tout le monde. Veuillez patienter {wait}, puis réessayer.
    limit_codes_network = Trop de codes erronés ont été saisis depuis votre réseau. Veuillez patienter {wait}, puis réessayer.
    limit_passwords_everyone = Trop de mots de passe erronés ont été saisis récemment sur ce service ; il est donc mis en pause pour tout le monde. Veuillez patienter {wait}, puis réessayer.
    limit_passwords_network = Trop de mots de passe erronés ont été saisis depuis votre réseau. Veuillez patienter {wait}, puis réessayer.
    limit_wait_one_minute = une minute
    limit_wait_minutes = {minutes} minutes
    limit_detail = Cette mesure empêche de deviner les codes des appareils d’autres personnes.
    busy_title = Service occupé
    busy_heading = Trop de connexions en ce moment
    busy_text = Le service vérifie actuellement de nombreux mots de passe ; le vôtre n’a donc pas été vérifié. Veuillez patienter quelques secondes, puis vous reconnecter.
    delegated_title = Aucune session ouverte
    delegated_heading = Vous n’avez pas de session ouverte
    delegated_text = Ce service identifie les personnes par l’intermédiaire de son serveur web, et cette demande n’était associée à aucun utilisateur connecté.
    delegated_detail = Si vous êtes l’administrateur : nginx doit authentifier cette location (auth_basic ou auth_request) et transmettre l’utilisateur dans fastcgi_param DEVICEGATE_REMOTE_USER (voir nginx/devicegate-verification-basic.conf) ; REMOTE_USER est ignoré.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = Connectez-vous pour continuer vers {client}.
    authorize_consent_lead = {client} souhaite vous connecter et utiliser votre compte.
    authorize_consent_return = Après votre choix, votre navigateur sera redirigé vers {return_host}.
    authorize_no_scopes = Savoir que vous avez ouvert une session, sans autre autorisation
    authorize_warning_strong = N’autorisez l’accès que si vous étiez vous-même en train de vous connecter à {client}
    authorize_warning = {warning_strong} et que vous vous attendiez à revenir sur {return_host}.
    authorize_refused_title = Demande de connexion refusée
    authorize_refused_heading = Cette demande de connexion ne peut pas être utilisée
    authorize_unreadable = La demande de connexion n’a pas pu être lue. Revenez à l’application et réessayez.
    authorize_unknown_application = Application inconnue.
    authorize_client_repeated = La demande indique son application plus d’une fois.
    authorize_client_missing = La demande n’indique pas de quelle application elle provient (client_id manquant).
    authorize_client_unknown = L’application qui vous a envoyé ici n’est pas enregistrée auprès de ce service.
    authorize_redirect_repeated = La demande indique son adresse de retour plus d’une fois.
    authorize_redirect_missing = La demande n’indique pas où revenir (redirect_uri manquant).
    authorize_redirect_unregistered = L’adresse vers laquelle cette demande vous renverrait n’est pas enregistrée pour {client} ; la redirection n’a donc pas eu lieu.
    authorize_expired = Cette connexion a pris trop de temps et a expiré. Revenez à l’application et connectez-vous à nouveau.
    authorize_invalid_link = Ce lien de connexion n’est pas valide. Revenez à l’application et connectez-vous à nouveau.
    authorize_no_longer_registered = L’application qui vous a envoyé ici n’est plus enregistrée pour cet usage.
    form_post_title = Continuer
    form_post_hint = Sélectionnez « Continuer » pour revenir à l’application.
    form_post_continue = Continuer

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = Demande de déconnexion refusée
    signout_refused_heading = Cette demande de déconnexion ne peut pas être utilisée
    signout_refused_text = {reason} Votre session est toujours ouverte.
    signout_unreadable = La demande de déconnexion n’a pas pu être lue.
    signout_repeated = La demande de déconnexion répète un paramètre.
    signout_too_long = La demande de déconnexion est trop longue.
    signout_foreign_token = La demande de déconnexion contient un jeton de connexion que ce service n’a pas émis.
    signout_two_applications = La demande de déconnexion indique deux applications différentes.
    signed_out_title = Déconnexion effectuée
    signed_out_heading = Votre session est fermée
    signed_out_text = Votre session sur {product} est fermée.
    signed_out_not_sent = L’application a demandé à vous envoyer vers une adresse qui n’est pas enregistrée pour elle ; la redirection n’a donc pas eu lieu.
    signed_out_web_server = La connexion gérée par le serveur web lui-même peut encore être active ; fermez le navigateur pour y mettre fin.
    signed_out_hint = Vous pouvez fermer cette page.

    # Your devices and who is asking.
    asking_heading = Qui fait la demande
    asking_when = Demande envoyée
    asking_where = Provenance
    asking_software = Logiciel de l’appareil
    asking_your_network = votre réseau
    asking_other_network = un autre réseau
    asking_unknown_network = un réseau inconnu
    asking_urgent_title = Cette demande provient d’un autre réseau que le vôtre.
    asking_unknown_title = L’origine de cette demande ne peut pas être vérifiée.
    asking_urgent_text = Si l’appareil n’est pas devant vous, quelqu’un d’autre essaie peut-être d’accéder à votre compte. Choisissez « Refuser ».
    devices_ago_now = à l’instant
    devices_ago_minute = il y a 1 minute
    devices_ago_minutes = il y a {minutes} minutes
    devices_ago_hour = il y a 1 heure
    devices_ago_hours = il y a {hours} heures
    devices_ago_day = il y a 1 jour
    devices_ago_days = il y a {days} jours
    devices_on_date = le {date}
    devices_link = Vos appareils
    devices_title = Vos appareils
    devices_lead = Ces appareils et applications peuvent utiliser votre compte. Déconnectez ceux que vous n’utilisez pas ou que vous ne reconnaissez pas.
    devices_none = Aucun appareil n’est connecté à votre compte.
    devices_approved = Autorisé
    devices_last_used = Dernière utilisation
    devices_not_yet = pas encore
    devices_from = Provenance
    devices_disconnect = Déconnecter
    devices_disconnected = {client_name} est déconnecté et ne peut plus utiliser votre compte.
    devices_not_found = Cet appareil n’est pas connecté à votre compte. Il a peut-être déjà été déconnecté.
    devices_sign_in_lead = Connectez-vous pour voir les appareils connectés à votre compte.
    devices_wrong_password = Nom d’utilisateur ou mot de passe incorrect.
    devices_connect_another = Connecter un appareil
    devices_not_allowed = Cette page ne peut pas être utilisée de cette façon.
    """#
}
