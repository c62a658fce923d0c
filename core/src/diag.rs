//! Stable diagnostic ids with English and French text and a remedy (R-DIAG).
//!
//! Every failure the core reports maps to an [`Id`]. The number of an id
//! never changes once released, so firmware can store it, show it and look up
//! its own translations. The hundreds say who must act:
//!
//! | range | who |
//! |-------|-----|
//! | 1xx | the integrating firmware (a call made wrongly) |
//! | 2xx | the administrator's settings (R-CFG, R-RULE, R-POL) |
//! | 3xx | the SMTP server or the mailbox's account settings |
//! | 4xx | the OAuth provider, the app registration or the user's consent |
//! | 5xx | the token store and the persisted image |
//! | 6xx | the network path (DNS, TCP, TLS, proxy) |
//! | 7xx | the mail API (Microsoft Graph, the Gmail API) and the mailbox's API permissions |

use core::fmt;

/// Language of the message catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Lang {
    /// English.
    #[default]
    En = 0,
    /// French (the printer manual's language).
    Fr = 1,
}

/// Who has to act on a diagnostic, from the id's hundreds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Actor {
    /// The firmware integrating the library.
    Firmware,
    /// The printer's administrator (settings).
    Administrator,
    /// The mail server or mailbox configuration.
    MailServer,
    /// The OAuth provider, app registration or consent.
    Provider,
    /// The token store or persisted image.
    Storage,
    /// The network path.
    Network,
    /// The mail API (Graph, the Gmail API) or the mailbox's API
    /// permissions (R-XPORT).
    MailApi,
}

struct Entry {
    en: &'static str,
    fr: &'static str,
    remedy_en: &'static str,
    remedy_fr: &'static str,
}

macro_rules! catalogue {
    ($( $name:ident = $num:literal {
        en: $en:literal, fr: $fr:literal,
        fix_en: $ren:literal, fix_fr: $rfr:literal $(,)?
    } ),* $(,)?) => {
        /// A stable diagnostic id. The discriminant is the public number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Id {
            $( #[doc = $en] $name = $num, )*
        }

        impl Id {
            /// Every id, in numeric order.
            pub const ALL: &'static [Id] = &[ $( Id::$name, )* ];

            /// The id with public number `n`, if there is one.
            #[must_use]
            pub const fn from_number(n: u16) -> Option<Id> {
                match n {
                    $( $num => Some(Id::$name), )*
                    _ => None,
                }
            }

            /// The id's name in code (`SmtpAuthDisabled`), for logs.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $( Id::$name => stringify!($name), )*
                }
            }

            const fn entry(self) -> &'static Entry {
                match self {
                    $( Id::$name => &Entry { en: $en, fr: $fr, remedy_en: $ren, remedy_fr: $rfr }, )*
                }
            }
        }
    };
}

impl Id {
    /// The public number (`305`).
    #[must_use]
    pub const fn number(self) -> u16 {
        self as u16
    }

    /// What went wrong, in `lang`.
    #[must_use]
    pub const fn message(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.entry().en,
            Lang::Fr => self.entry().fr,
        }
    }

    /// What to do about it, in `lang`.
    #[must_use]
    pub const fn remedy(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.entry().remedy_en,
            Lang::Fr => self.entry().remedy_fr,
        }
    }

    /// Who has to act.
    #[must_use]
    pub const fn actor(self) -> Actor {
        match self.number() / 100 {
            1 => Actor::Firmware,
            2 => Actor::Administrator,
            3 => Actor::MailServer,
            4 => Actor::Provider,
            5 => Actor::Storage,
            7 => Actor::MailApi,
            _ => Actor::Network,
        }
    }
}

impl fmt::Display for Id {
    /// `E305 SmtpAuthDisabled: <English message>`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "E{} {}: {}",
            self.number(),
            self.name(),
            self.message(Lang::En)
        )
    }
}

catalogue! {
    // 1xx: the integrating firmware
    BufferTooSmall = 101 {
        en: "A buffer lent to the library is too small.",
        fr: "Un tampon fourni à la bibliothèque est trop petit.",
        fix_en: "Lend a buffer of at least the size the call reports (see the capacities table).",
        fix_fr: "Fournir un tampon au moins de la taille indiquée par l'appel (voir le tableau des capacités).",
    },
    InvalidArgument = 102 {
        en: "An argument is out of range or malformed.",
        fr: "Un argument est hors limites ou mal formé.",
        fix_en: "Check the value against the API documentation.",
        fix_fr: "Vérifier la valeur d'après la documentation de l'API.",
    },
    WrongState = 103 {
        en: "The call is not allowed in the object's current state.",
        fr: "L'appel n'est pas permis dans l'état actuel de l'objet.",
        fix_en: "Follow the documented call order (poll events before the next step).",
        fix_fr: "Respecter l'ordre des appels documenté (lire les événements avant l'étape suivante).",
    },
    NotAvailable = 104 {
        en: "OAuth 2.0 authentication is not available on this product.",
        fr: "L'authentification OAuth 2.0 n'est pas disponible sur ce produit.",
        fix_en: "Use a model or firmware build that includes OAuth 2.0.",
        fix_fr: "Utiliser un modèle ou un micrologiciel qui inclut OAuth 2.0.",
    },
    CapacityExceeded = 105 {
        en: "A fixed capacity of the library was exceeded.",
        fr: "Une capacité fixe de la bibliothèque a été dépassée.",
        fix_en: "Reduce the input (recipients, address length, token size) to the documented limits.",
        fix_fr: "Réduire l'entrée (destinataires, longueur d'adresse, taille du jeton) aux limites documentées.",
    },
    InvalidAddress = 106 {
        en: "An e-mail address is empty or malformed.",
        fr: "Une adresse e-mail est vide ou mal formée.",
        fix_en: "Enter the address as name@domain without spaces or angle brackets.",
        fix_fr: "Saisir l'adresse sous la forme nom@domaine, sans espace ni chevrons.",
    },
    MessageSizeRequired = 107 {
        en: "The mail API transports need the message's size before it is sent.",
        fr: "Les transports par API de messagerie exigent la taille du message avant son envoi.",
        fix_en: "Give the job's size (the composer knows it before the first octet).",
        fix_fr: "Indiquer la taille du travail (le compositeur la connaît avant le premier octet).",
    },

    // 2xx: the administrator's settings
    VlanOnNetwork2 = 201 {
        en: "OAuth 2.0 cannot be enabled while VLAN is enabled on network 2.",
        fr: "OAuth 2.0 ne peut pas être activé lorsque le VLAN est activé sur le réseau 2.",
        fix_en: "Disable VLAN on network 2, then enable OAuth 2.0.",
        fix_fr: "Désactiver le VLAN sur le réseau 2, puis activer OAuth 2.0.",
    },
    MicrosoftTls13Only = 202 {
        en: "Microsoft OAuth 2.0 is not available when the TLS minimum and maximum are both TLS 1.3.",
        fr: "OAuth 2.0 Microsoft n'est pas disponible lorsque les versions TLS minimale et maximale sont toutes deux TLS 1.3.",
        fix_en: "Set the minimum TLS version to TLS 1.2.",
        fix_fr: "Régler la version TLS minimale sur TLS 1.2.",
    },
    GoogleNeedsHttp2 = 203 {
        en: "With Google, the WebDAV client HTTP version must be \"HTTP/2,HTTP/1.1\".",
        fr: "Avec Google, la version HTTP du client WebDAV doit être « HTTP/2,HTTP/1.1 ».",
        fix_en: "Set the WebDAV client HTTP version to \"HTTP/2,HTTP/1.1\".",
        fix_fr: "Régler la version HTTP du client WebDAV sur « HTTP/2,HTTP/1.1 ».",
    },
    BulkAddressMismatch = 204 {
        en: "In bulk setting mode the bulk sender address must be the administrator's e-mail address.",
        fr: "En mode réglage groupé, l'adresse d'expéditeur groupée doit être l'adresse e-mail de l'administrateur.",
        fix_en: "Enter the administrator's e-mail address as the bulk sender address.",
        fix_fr: "Saisir l'adresse e-mail de l'administrateur comme adresse d'expéditeur groupée.",
    },
    AdminTokenRequired = 205 {
        en: "The administrator's refresh token is Required: jobs cannot send yet.",
        fr: "Le jeton d'actualisation de l'administrateur est Requis : les travaux ne peuvent pas encore être envoyés.",
        fix_en: "On the OAuth screen, select Acquire and sign in with the administrator's account.",
        fix_fr: "Sur l'écran OAuth, sélectionner Acquérir et se connecter avec le compte de l'administrateur.",
    },
    OAuthOff = 206 {
        en: "OAuth 2.0 is off in the settings.",
        fr: "OAuth 2.0 est désactivé dans les réglages.",
        fix_en: "Enable OAuth 2.0 under E-mail Settings > Send E-mail (SMTP) > OAuth Setting.",
        fix_fr: "Activer OAuth 2.0 dans Configuration e-mail > Envoyer e-mail (SMTP) > Configuration OAuth.",
    },
    AdminAddressMissing = 207 {
        en: "The administrator's e-mail address is not set.",
        fr: "L'adresse e-mail de l'administrateur n'est pas définie.",
        fix_en: "Enter a Microsoft or Google address under Administrator Registration.",
        fix_fr: "Saisir une adresse Microsoft ou Google dans Enregistrement administrateur.",
    },
    SmtpServerMissing = 208 {
        en: "The SMTP server is not set.",
        fr: "Le serveur SMTP n'est pas défini.",
        fix_en: "Enter the provider's SMTP server (smtp.office365.com or smtp.gmail.com) and port.",
        fix_fr: "Saisir le serveur SMTP du fournisseur (smtp.office365.com ou smtp.gmail.com) et le port.",
    },
    FromNotTokenAccount = 209 {
        en: "The sender address does not match the account whose token would sign the job.",
        fr: "L'adresse d'expéditeur ne correspond pas au compte dont le jeton signerait le travail.",
        fix_en: "Send from the authenticated account, or add the address to the send-as list after granting Send As on the mailbox.",
        fix_fr: "Envoyer depuis le compte authentifié, ou ajouter l'adresse à la liste « envoyer en tant que » après avoir accordé l'autorisation Send As.",
    },
    UserLoginRequired = 210 {
        en: "This sender mode needs a logged-in user.",
        fr: "Ce mode d'expéditeur nécessite un utilisateur connecté.",
        fix_en: "Log in at the panel, or choose a sender mode that uses the administrator's address.",
        fix_fr: "Se connecter au panneau, ou choisir un mode d'expéditeur qui utilise l'adresse de l'administrateur.",
    },
    UserAuthRequired = 211 {
        en: "The user has no valid OAuth token: authentication is needed before sending.",
        fr: "L'utilisateur n'a pas de jeton OAuth valide : une authentification est nécessaire avant l'envoi.",
        fix_en: "Complete the OAuth authentication screen shown on the panel.",
        fix_fr: "Effectuer l'authentification sur l'écran OAuth affiché au panneau.",
    },
    ProviderProfileIncomplete = 212 {
        en: "The custom OAuth provider is missing an endpoint, client id or scope.",
        fr: "Il manque un point de terminaison, un identifiant client ou une portée au fournisseur OAuth personnalisé.",
        fix_en: "Fill in the token endpoint, the client id and the scope of the custom provider.",
        fix_fr: "Renseigner le point de terminaison de jeton, l'identifiant client et la portée du fournisseur personnalisé.",
    },
    TlsRangeInvalid = 213 {
        en: "The TLS minimum version is above the maximum.",
        fr: "La version TLS minimale est supérieure à la maximale.",
        fix_en: "Set the minimum TLS version at or below the maximum.",
        fix_fr: "Régler la version TLS minimale au plus égale à la maximale.",
    },
    TlsVersionsUnsupported = 214 {
        en: "The TLS range set admits neither TLS 1.2 nor TLS 1.3, the only versions this device's TLS speaks.",
        fr: "La plage TLS réglée n'admet ni TLS 1.2 ni TLS 1.3, les seules versions que le TLS de cet appareil prend en charge.",
        fix_en: "Set the maximum TLS version to TLS 1.2 or TLS 1.3.",
        fix_fr: "Régler la version TLS maximale sur TLS 1.2 ou TLS 1.3.",
    },
    RefreshMarginInvalid = 215 {
        en: "The refresh margin of access tokens is outside 60 to 1800 seconds.",
        fr: "La marge de renouvellement des jetons d'accès est hors de la plage de 60 à 1800 secondes.",
        fix_en: "Set the refresh margin between 60 and 1800 seconds; 600 (the default) suits Microsoft High Volume Email.",
        fix_fr: "Régler la marge de renouvellement entre 60 et 1800 secondes ; 600 (la valeur par défaut) convient à Microsoft High Volume Email.",
    },
    AppSignInIncomplete = 216 {
        en: "The administrator's app-only sign-in is incomplete: a certificate needs Microsoft and its SHA-256 thumbprint, a service account Google and its address, both a sender mode using the administrator's token.",
        fr: "La connexion de l'administrateur en tant qu'application est incomplète : un certificat demande Microsoft et son empreinte SHA-256, un compte de service Google et son adresse, tous deux un mode d'expéditeur avec le jeton de l'administrateur.",
        fix_en: "Set the certificate thumbprint (openssl x509 -fingerprint -sha256) or the service account address, the matching provider, and the sender mode Administrator fixed address or Bulk setting; or set the administrator's sign-in back to delegated.",
        fix_fr: "Régler l'empreinte du certificat (openssl x509 -fingerprint -sha256) ou l'adresse du compte de service, le fournisseur correspondant, et le mode d'expéditeur Adresse fixe de l'administrateur ou Réglage groupé ; ou remettre la connexion de l'administrateur en mode délégué.",
    },
    TransportProviderMismatch = 217 {
        en: "The transport does not fit the provider: Graph needs Microsoft, the Gmail API needs Google.",
        fr: "Le transport ne correspond pas au fournisseur : Graph exige Microsoft, l'API Gmail exige Google.",
        fix_en: "Set the transport to SMTP, or to the provider's own API.",
        fix_fr: "Régler le transport sur SMTP, ou sur l'API du fournisseur.",
    },
    ApiUrlInvalid = 218 {
        en: "The mail API URL is missing (a custom provider with an API transport needs one) or is not an https URL.",
        fr: "L'URL de l'API de messagerie manque (un fournisseur personnalisé avec un transport par API en exige une) ou n'est pas une URL https.",
        fix_en: "Set the API URL to the API's https base URL (for example https://graph.microsoft.com), or clear it to use the provider's.",
        fix_fr: "Régler l'URL de l'API sur l'URL https de base de l'API (par exemple https://graph.microsoft.com), ou l'effacer pour utiliser celle du fournisseur.",
    },
    TransportScopeMissing = 219 {
        en: "The custom scope does not ask for what the transport needs: Mail.Send for Graph, gmail.send for the Gmail API.",
        fr: "La portée personnalisée ne demande pas ce dont le transport a besoin : Mail.Send pour Graph, gmail.send pour l'API Gmail.",
        fix_en: "Add the transport's scope to the custom scope, then sign in again.",
        fix_fr: "Ajouter la portée du transport à la portée personnalisée, puis se reconnecter.",
    },

    // 3xx: the SMTP server and the mailbox
    GreetingRefused = 301 {
        en: "The SMTP server refused the connection.",
        fr: "Le serveur SMTP a refusé la connexion.",
        fix_en: "Check the SMTP server address and port, and that this printer's IP address is allowed.",
        fix_fr: "Vérifier l'adresse et le port du serveur SMTP, et que l'adresse IP de l'imprimante est autorisée.",
    },
    StartTlsNotOffered = 302 {
        en: "The SMTP server does not offer STARTTLS: the token will not be sent unencrypted.",
        fr: "Le serveur SMTP ne propose pas STARTTLS : le jeton ne sera pas envoyé sans chiffrement.",
        fix_en: "Use the provider's submission port (587 with STARTTLS, or 465 with SSL/TLS).",
        fix_fr: "Utiliser le port de soumission du fournisseur (587 avec STARTTLS, ou 465 avec SSL/TLS).",
    },
    StartTlsRefused = 303 {
        en: "The SMTP server refused to start TLS.",
        fr: "Le serveur SMTP a refusé de démarrer TLS.",
        fix_en: "Try again later; if it persists, check the server's TLS certificate and settings.",
        fix_fr: "Réessayer plus tard ; si le problème persiste, vérifier le certificat et les réglages TLS du serveur.",
    },
    NoOAuthMechanism = 304 {
        en: "The SMTP server offers neither XOAUTH2 nor OAUTHBEARER.",
        fr: "Le serveur SMTP ne propose ni XOAUTH2 ni OAUTHBEARER.",
        fix_en: "Use the provider's SMTP server (smtp.office365.com or smtp.gmail.com) or enable OAuth on your server.",
        fix_fr: "Utiliser le serveur SMTP du fournisseur (smtp.office365.com ou smtp.gmail.com) ou activer OAuth sur votre serveur.",
    },
    SmtpAuthDisabled = 305 {
        en: "Authenticated SMTP is disabled for this mailbox or tenant (5.7.139).",
        fr: "Le SMTP authentifié est désactivé pour cette boîte aux lettres ou ce locataire (5.7.139).",
        fix_en: "In the Microsoft 365 admin center: Active users > the user > Mail > Manage email apps > tick Authenticated SMTP. Tenant-wide: Set-TransportConfig -SmtpClientAuthenticationDisabled $false. Or set the transport to Graph (permission Mail.Send), which needs no SMTP AUTH.",
        fix_fr: "Dans le centre d'administration Microsoft 365 : Utilisateurs actifs > l'utilisateur > Courrier > Gérer les applications de messagerie > cocher SMTP authentifié. Pour tout le locataire : Set-TransportConfig -SmtpClientAuthenticationDisabled $false. Ou régler le transport sur Graph (autorisation Mail.Send), qui n'a pas besoin de SMTP AUTH.",
    },
    TokenRejected = 306 {
        en: "The SMTP server rejected the access token.",
        fr: "Le serveur SMTP a refusé le jeton d'accès.",
        fix_en: "A rejected token is refreshed and tried once more; if it was still rejected, check that the account that signed in is the mailbox's and that the app may send mail (Microsoft: SMTP.Send; Google: https://mail.google.com/).",
        fix_fr: "Un jeton refusé est actualisé et réessayé une fois ; s'il a encore été refusé, vérifier que le compte connecté est celui de la boîte aux lettres et que l'application peut envoyer des e-mails (Microsoft : SMTP.Send ; Google : https://mail.google.com/).",
    },
    CredentialsInvalid = 307 {
        en: "The SMTP server found the credentials invalid (535 5.7.8).",
        fr: "Le serveur SMTP a jugé les identifiants non valides (535 5.7.8).",
        fix_en: "Sign in again on the OAuth screen with the account that owns the sender address.",
        fix_fr: "Se reconnecter sur l'écran OAuth avec le compte propriétaire de l'adresse d'expéditeur.",
    },
    AuthRequired = 308 {
        en: "The SMTP server requires authentication (530).",
        fr: "Le serveur SMTP exige une authentification (530).",
        fix_en: "Enable OAuth 2.0 and acquire a token before sending.",
        fix_fr: "Activer OAuth 2.0 et acquérir un jeton avant l'envoi.",
    },
    BasicAuthRetired = 309 {
        en: "Basic authentication is no longer accepted for client submission (5.7.30).",
        fr: "L'authentification de base n'est plus acceptée pour la soumission client (5.7.30).",
        fix_en: "Switch this printer to OAuth 2.0.",
        fix_fr: "Passer l'imprimante à OAuth 2.0.",
    },
    TlsTooOld = 310 {
        en: "The server refuses TLS 1.0 and 1.1 (4.7.66).",
        fr: "Le serveur refuse TLS 1.0 et 1.1 (4.7.66).",
        fix_en: "Set the minimum TLS version to TLS 1.2.",
        fix_fr: "Régler la version TLS minimale sur TLS 1.2.",
    },
    SendAsDenied = 311 {
        en: "The account is not allowed to send as this sender address (5.7.60 / 5.2.252).",
        fr: "Le compte n'est pas autorisé à envoyer avec cette adresse d'expéditeur (5.7.60 / 5.2.252).",
        fix_en: "Grant the authenticated account Send As on that mailbox, or send from the account's own address.",
        fix_fr: "Accorder au compte authentifié l'autorisation Send As sur cette boîte, ou envoyer depuis l'adresse du compte.",
    },
    LineTooLong = 312 {
        en: "The SMTP server refused a command line as too long or not understood (500 / 5.5.6).",
        fr: "Le serveur SMTP a refusé une ligne de commande trop longue ou non comprise (500 / 5.5.6).",
        fix_en: "Report this to the printer vendor with the diagnostic log.",
        fix_fr: "Signaler le problème au fabricant avec le journal de diagnostic.",
    },
    AuthTemporary = 313 {
        en: "The SMTP server could not authenticate for now (454).",
        fr: "Le serveur SMTP ne pouvait pas authentifier pour l'instant (454).",
        fix_en: "Try again in a few minutes.",
        fix_fr: "Réessayer dans quelques minutes.",
    },
    MechanismUnsupported = 314 {
        en: "The SMTP server does not support the authentication mechanism (504).",
        fr: "Le serveur SMTP ne prend pas en charge le mécanisme d'authentification (504).",
        fix_en: "Check that the server and the provider setting match (Microsoft or Google).",
        fix_fr: "Vérifier que le serveur et le réglage du fournisseur concordent (Microsoft ou Google).",
    },
    SenderRejected = 315 {
        en: "The SMTP server refused the sender address.",
        fr: "Le serveur SMTP a refusé l'adresse d'expéditeur.",
        fix_en: "Send from the address of the authenticated account.",
        fix_fr: "Envoyer depuis l'adresse du compte authentifié.",
    },
    RecipientRejected = 316 {
        en: "The SMTP server refused a recipient.",
        fr: "Le serveur SMTP a refusé un destinataire.",
        fix_en: "Check the recipient's address; the other recipients were still sent to.",
        fix_fr: "Vérifier l'adresse du destinataire ; les autres destinataires ont reçu le message.",
    },
    AllRecipientsRejected = 317 {
        en: "The SMTP server refused every recipient: nothing was sent.",
        fr: "Le serveur SMTP a refusé tous les destinataires : rien n'a été envoyé.",
        fix_en: "Check the recipients' addresses.",
        fix_fr: "Vérifier les adresses des destinataires.",
    },
    MessageTooBig = 318 {
        en: "The message is larger than the SMTP server accepts.",
        fr: "Le message dépasse la taille acceptée par le serveur SMTP.",
        fix_en: "Lower the scan resolution, split the job, or use Scan to URL.",
        fix_fr: "Réduire la résolution de numérisation, diviser le travail, ou utiliser Numériser vers URL.",
    },
    DataRefused = 319 {
        en: "The SMTP server refused to receive the message body.",
        fr: "Le serveur SMTP a refusé de recevoir le corps du message.",
        fix_en: "Try again later; if it persists, check the server's log.",
        fix_fr: "Réessayer plus tard ; si le problème persiste, consulter le journal du serveur.",
    },
    MessageRejected = 320 {
        en: "The SMTP server rejected the message after receiving it.",
        fr: "Le serveur SMTP a rejeté le message après l'avoir reçu.",
        fix_en: "Check the server's reply text (policy, content or size rules).",
        fix_fr: "Consulter le texte de la réponse du serveur (règles de stratégie, de contenu ou de taille).",
    },
    ServiceUnavailable = 321 {
        en: "The SMTP server is closing the connection (421).",
        fr: "Le serveur SMTP ferme la connexion (421).",
        fix_en: "Try again later.",
        fix_fr: "Réessayer plus tard.",
    },
    ProtocolViolation = 322 {
        en: "The SMTP server sent a reply that does not follow the protocol.",
        fr: "Le serveur SMTP a envoyé une réponse non conforme au protocole.",
        fix_en: "Check that the address and port lead to an SMTP submission server.",
        fix_fr: "Vérifier que l'adresse et le port mènent à un serveur de soumission SMTP.",
    },
    ReplyTooLong = 323 {
        en: "The SMTP server sent a reply longer than the printer accepts.",
        fr: "Le serveur SMTP a envoyé une réponse plus longue que ce que l'imprimante accepte.",
        fix_en: "Check that the address and port lead to an SMTP submission server.",
        fix_fr: "Vérifier que l'adresse et le port mènent à un serveur de soumission SMTP.",
    },
    SmtpTimeout = 324 {
        en: "The SMTP server did not answer in time.",
        fr: "Le serveur SMTP n'a pas répondu à temps.",
        fix_en: "Check the network path to the server (firewall, proxy) and try again.",
        fix_fr: "Vérifier le chemin réseau vers le serveur (pare-feu, proxy) et réessayer.",
    },
    ConnectionClosed = 325 {
        en: "The SMTP server closed the connection before the job was finished.",
        fr: "Le serveur SMTP a fermé la connexion avant la fin du travail.",
        fix_en: "Try again; the message was not reported as sent.",
        fix_fr: "Réessayer ; le message n'a pas été signalé comme envoyé.",
    },
    EhloRefused = 326 {
        en: "The SMTP server refused the EHLO greeting.",
        fr: "Le serveur SMTP a refusé la salutation EHLO.",
        fix_en: "Check the printer's host name and that the server is an SMTP submission server.",
        fix_fr: "Vérifier le nom d'hôte de l'imprimante et que le serveur est un serveur de soumission SMTP.",
    },
    AuthChallengeMalformed = 327 {
        en: "The SMTP server's authentication challenge could not be decoded.",
        fr: "Le défi d'authentification du serveur SMTP n'a pas pu être décodé.",
        fix_en: "The token was rejected; sign in again on the OAuth screen if it persists.",
        fix_fr: "Le jeton a été refusé ; se reconnecter sur l'écran OAuth si le problème persiste.",
    },
    TransientFailure = 328 {
        en: "The SMTP server reported a temporary failure.",
        fr: "Le serveur SMTP a signalé un échec temporaire.",
        fix_en: "Try again later.",
        fix_fr: "Réessayer plus tard.",
    },
    AuthRejected = 329 {
        en: "The SMTP server rejected the authentication.",
        fr: "Le serveur SMTP a refusé l'authentification.",
        fix_en: "Sign in again on the OAuth screen; check that the account owns the sender address.",
        fix_fr: "Se reconnecter sur l'écran OAuth ; vérifier que le compte possède l'adresse d'expéditeur.",
    },
    DeliveryUnknown = 330 {
        en: "The connection was lost, or the SMTP server did not answer in time, after the whole message was sent and before the server confirmed it: the message may have been delivered.",
        fr: "La connexion a été perdue, ou le serveur SMTP n'a pas répondu à temps, après l'envoi de tout le message et avant sa confirmation : le message a peut-être été remis.",
        fix_en: "Check the recipient's mailbox or the sender's Sent Items before sending again, so that the message does not arrive twice.",
        fix_fr: "Vérifier la boîte du destinataire ou les éléments envoyés de l'expéditeur avant de renvoyer, pour que le message n'arrive pas en double.",
    },
    Smtputf8NotOffered = 331 {
        en: "An address of the message has non-ASCII characters and the SMTP server does not offer SMTPUTF8 (RFC 6531): the message was not sent.",
        fr: "Une adresse du message contient des caractères non ASCII et le serveur SMTP ne propose pas SMTPUTF8 (RFC 6531) : le message n'a pas été envoyé.",
        fix_en: "Use an ASCII-only address for this recipient or sender, or send through an SMTP server that offers SMTPUTF8.",
        fix_fr: "Utiliser une adresse uniquement ASCII pour ce destinataire ou cet expéditeur, ou passer par un serveur SMTP qui propose SMTPUTF8.",
    },
    TokenExpiringSoon = 332 {
        en: "The SMTP server refused the access token because it will expire soon (5.5.127, Microsoft High Volume Email).",
        fr: "Le serveur SMTP a refusé le jeton d'accès parce qu'il expire bientôt (5.5.127, Microsoft High Volume Email).",
        fix_en: "The token is refreshed and tried once more. If it was refused again, check the printer's date and time: a clock that runs behind makes a token look fresher than it is.",
        fix_fr: "Le jeton est actualisé et réessayé une fois. S'il a de nouveau été refusé, vérifier la date et l'heure de l'imprimante : une horloge en retard fait paraître un jeton plus récent qu'il ne l'est.",
    },
    SmtpUserInvalid = 333 {
        en: "The SMTP server found the user address of the authentication invalid (5.5.124).",
        fr: "Le serveur SMTP a jugé non valide l'adresse d'utilisateur de l'authentification (5.5.124).",
        fix_en: "Check that the sender address is the mailbox the token was issued for; with Microsoft High Volume Email (smtp-hve.office365.com), that it is the address of an HVE account.",
        fix_fr: "Vérifier que l'adresse d'expéditeur est la boîte aux lettres pour laquelle le jeton a été émis ; avec Microsoft High Volume Email (smtp-hve.office365.com), que c'est l'adresse d'un compte HVE.",
    },

    // 4xx: the OAuth provider, app registration and consent
    PublicClientFlowsOff = 401 {
        en: "The app registration does not allow public client flows (AADSTS7000218).",
        fr: "L'inscription d'application n'autorise pas les flux de clients publics (AADSTS7000218).",
        fix_en: "In Microsoft Entra: App registrations > the app > Authentication > Allow public client flows: Yes.",
        fix_fr: "Dans Microsoft Entra : Inscriptions d'applications > l'application > Authentification > Autoriser les flux de clients publics : Oui.",
    },
    ConsentMissing = 402 {
        en: "The user or administrator has not consented to the app (AADSTS65001).",
        fr: "L'utilisateur ou l'administrateur n'a pas donné son consentement à l'application (AADSTS65001).",
        fix_en: "Have an administrator grant consent for SMTP.Send and offline_access. If a sign-in was refused, sign in again after that; a refused renewal keeps the token, and the next job uses it once consent is granted.",
        fix_fr: "Faire accorder le consentement pour SMTP.Send et offline_access par un administrateur. Si une connexion a été refusée, se reconnecter ensuite ; un renouvellement refusé conserve le jeton, que la tâche suivante utilise une fois le consentement accordé.",
    },
    RefreshExpiredInactivity = 403 {
        en: "The refresh token expired after a long time unused (AADSTS700082 / 70008).",
        fr: "Le jeton d'actualisation a expiré après une longue inactivité (AADSTS700082 / 70008).",
        fix_en: "Select Acquire on the OAuth screen and sign in again.",
        fix_fr: "Sélectionner Acquérir sur l'écran OAuth et se reconnecter.",
    },
    RefreshRevoked = 404 {
        en: "The refresh token was revoked (password change, sign-out or admin action).",
        fr: "Le jeton d'actualisation a été révoqué (changement de mot de passe, déconnexion ou action d'un administrateur).",
        fix_en: "Select Acquire on the OAuth screen and sign in again.",
        fix_fr: "Sélectionner Acquérir sur l'écran OAuth et se reconnecter.",
    },
    ConditionalAccess = 405 {
        en: "A Conditional Access policy blocked the sign-in (AADSTS53003).",
        fr: "Une stratégie d'accès conditionnel a bloqué la connexion (AADSTS53003).",
        fix_en: "Ask the tenant administrator to allow this device or app in Conditional Access.",
        fix_fr: "Demander à l'administrateur du locataire d'autoriser cet appareil ou cette application dans l'accès conditionnel.",
    },
    InvalidScope = 406 {
        en: "The provider refused the requested scope.",
        fr: "Le fournisseur a refusé la portée demandée.",
        fix_en: "Use the provider's SMTP scope (Microsoft: SMTP.Send offline_access; Google: https://mail.google.com/).",
        fix_fr: "Utiliser la portée SMTP du fournisseur (Microsoft : SMTP.Send offline_access ; Google : https://mail.google.com/).",
    },
    InvalidClient = 407 {
        en: "The provider does not know this client id, or its type is wrong.",
        fr: "Le fournisseur ne connaît pas cet identifiant client, ou son type est incorrect.",
        fix_en: "Check the client id and that the app is registered as a public/native client.",
        fix_fr: "Vérifier l'identifiant client et que l'application est inscrite comme client public/natif.",
    },
    GoogleAdminPolicy = 408 {
        en: "A Google Workspace administrator policy blocks this app (admin_policy_enforced).",
        fr: "Une règle de l'administrateur Google Workspace bloque cette application (admin_policy_enforced).",
        fix_en: "In the Google Admin console, trust the app under Security > API controls.",
        fix_fr: "Dans la console d'administration Google, approuver l'application dans Sécurité > Commandes des API.",
    },
    GoogleOrgInternal = 409 {
        en: "The Google app is internal to another organization (org_internal).",
        fr: "L'application Google est interne à une autre organisation (org_internal).",
        fix_en: "Sign in with an account of the app's organization or make the app external.",
        fix_fr: "Se connecter avec un compte de l'organisation de l'application ou rendre l'application externe.",
    },
    RateLimited = 410 {
        en: "The provider is limiting requests (rate limit exceeded).",
        fr: "Le fournisseur limite les requêtes (limite de débit dépassée).",
        fix_en: "Wait a few minutes; the printer retries by itself.",
        fix_fr: "Patienter quelques minutes ; l'imprimante réessaie d'elle-même.",
    },
    InvalidGrant = 411 {
        en: "The provider no longer accepts the refresh token (invalid_grant): authentication was cancelled.",
        fr: "Le fournisseur n'accepte plus le jeton d'actualisation (invalid_grant) : l'authentification a été annulée.",
        fix_en: "Select Acquire on the OAuth screen and sign in again.",
        fix_fr: "Sélectionner Acquérir sur l'écran OAuth et se reconnecter.",
    },
    AuthorizationDeclined = 412 {
        en: "The sign-in was declined.",
        fr: "La connexion a été refusée.",
        fix_en: "Start the authentication again and approve the request.",
        fix_fr: "Relancer l'authentification et approuver la demande.",
    },
    DeviceCodeExpired = 413 {
        en: "The sign-in code expired before it was used.",
        fr: "Le code de connexion a expiré avant d'être utilisé.",
        fix_en: "Start the authentication again and enter the new code promptly.",
        fix_fr: "Relancer l'authentification et saisir rapidement le nouveau code.",
    },
    BadVerificationCode = 414 {
        en: "The sign-in code was not recognized.",
        fr: "Le code de connexion n'a pas été reconnu.",
        fix_en: "Start the authentication again and enter the code exactly as shown.",
        fix_fr: "Relancer l'authentification et saisir le code exactement comme affiché.",
    },
    DeviceFlowNotSupported = 415 {
        en: "This provider does not allow the device code flow for e-mail.",
        fr: "Ce fournisseur n'autorise pas le flux par code d'appareil pour l'e-mail.",
        fix_en: "Use the browser sign-in (authorization code with PKCE) instead.",
        fix_fr: "Utiliser plutôt la connexion par navigateur (code d'autorisation avec PKCE).",
    },
    StateMismatch = 416 {
        en: "The sign-in answer does not belong to this request (state mismatch).",
        fr: "La réponse de connexion ne correspond pas à cette demande (state différent).",
        fix_en: "Start the authentication again from the printer.",
        fix_fr: "Relancer l'authentification depuis l'imprimante.",
    },
    RedirectError = 417 {
        en: "The provider returned an error to the sign-in page.",
        fr: "Le fournisseur a renvoyé une erreur à la page de connexion.",
        fix_en: "Read the error shown, then start the authentication again.",
        fix_fr: "Lire l'erreur affichée, puis relancer l'authentification.",
    },
    HttpUnexpectedStatus = 418 {
        en: "The token endpoint answered with an unexpected HTTP status.",
        fr: "Le point de terminaison de jeton a répondu avec un statut HTTP inattendu.",
        fix_en: "Check the provider endpoints and the proxy settings.",
        fix_fr: "Vérifier les points de terminaison du fournisseur et les paramètres proxy.",
    },
    HttpMalformed = 419 {
        en: "The token endpoint's HTTP response is malformed.",
        fr: "La réponse HTTP du point de terminaison de jeton est mal formée.",
        fix_en: "Check the proxy settings; a proxy may be rewriting the traffic.",
        fix_fr: "Vérifier les paramètres proxy ; un proxy modifie peut-être le trafic.",
    },
    ResponseTooLarge = 420 {
        en: "The token endpoint's response exceeds the buffer.",
        fr: "La réponse du point de terminaison de jeton dépasse le tampon.",
        fix_en: "Lend a larger response buffer (see the capacities table).",
        fix_fr: "Fournir un tampon de réponse plus grand (voir le tableau des capacités).",
    },
    JsonMalformed = 421 {
        en: "The token endpoint's JSON body could not be read.",
        fr: "Le corps JSON du point de terminaison de jeton n'a pas pu être lu.",
        fix_en: "Check the provider endpoints; report it with the diagnostic log if it persists.",
        fix_fr: "Vérifier les points de terminaison du fournisseur ; signaler le problème avec le journal s'il persiste.",
    },
    TokenTooLarge = 422 {
        en: "A token from the provider is larger than the printer can store.",
        fr: "Un jeton du fournisseur dépasse la taille que l'imprimante peut stocker.",
        fix_en: "Report this to the printer vendor; fewer scopes give smaller tokens.",
        fix_fr: "Signaler le problème au fabricant ; moins de portées donnent des jetons plus petits.",
    },
    ProxyRefused = 423 {
        en: "The proxy refused to connect to the provider.",
        fr: "Le proxy a refusé de se connecter au fournisseur.",
        fix_en: "Allow the provider's sign-in host through the proxy (port 443).",
        fix_fr: "Autoriser l'hôte de connexion du fournisseur à travers le proxy (port 443).",
    },
    ProxyAuthRequired = 424 {
        en: "The proxy requires authentication (407).",
        fr: "Le proxy exige une authentification (407).",
        fix_en: "Enter the proxy user name and password in the proxy settings.",
        fix_fr: "Saisir le nom d'utilisateur et le mot de passe du proxy dans les paramètres proxy.",
    },
    ProviderUnavailable = 425 {
        en: "The OAuth provider answered that it was temporarily unavailable, and the retries with increasing delays did not get through.",
        fr: "Le fournisseur OAuth a répondu qu'il était temporairement indisponible, et les nouvelles tentatives à délais croissants n'ont pas abouti.",
        fix_en: "Try again in a few minutes; if it persists, check the provider's service status and the proxy settings.",
        fix_fr: "Réessayer dans quelques minutes ; si le problème persiste, vérifier l'état du service du fournisseur et les paramètres proxy.",
    },
    AppNotInTenant = 426 {
        en: "The app is not registered in this tenant (AADSTS700016).",
        fr: "L'application n'est pas inscrite dans ce locataire (AADSTS700016).",
        fix_en: "Check the client id and tenant, or have an administrator add the app.",
        fix_fr: "Vérifier l'identifiant client et le locataire, ou faire ajouter l'application par un administrateur.",
    },
    BadTenant = 427 {
        en: "The tenant is not valid (AADSTS90002).",
        fr: "Le locataire n'est pas valide (AADSTS90002).",
        fix_en: "Check the tenant name or id in the provider settings.",
        fix_fr: "Vérifier le nom ou l'identifiant du locataire dans les réglages du fournisseur.",
    },
    TenantEndpointRequired = 428 {
        en: "This sign-in is not allowed on the common endpoint (AADSTS9001023).",
        fr: "Cette connexion n'est pas permise sur le point de terminaison commun (AADSTS9001023).",
        fix_en: "Set the organization's tenant id instead of common or consumers.",
        fix_fr: "Indiquer l'identifiant du locataire de l'organisation au lieu de common ou consumers.",
    },
    UnsupportedGrantType = 429 {
        en: "The provider does not support this kind of sign-in.",
        fr: "Le fournisseur ne prend pas en charge ce type de connexion.",
        fix_en: "Use the device code or the browser sign-in, as the provider supports.",
        fix_fr: "Utiliser le code d'appareil ou la connexion par navigateur, selon ce que le fournisseur prend en charge.",
    },
    InvalidRequest = 430 {
        en: "The provider found the request invalid.",
        fr: "Le fournisseur a jugé la requête non valide.",
        fix_en: "Check the provider settings (client id, tenant, redirect URI).",
        fix_fr: "Vérifier les réglages du fournisseur (identifiant client, locataire, URI de redirection).",
    },
    UnauthorizedClient = 431 {
        en: "The app is not allowed to use this kind of sign-in.",
        fr: "L'application n'est pas autorisée à utiliser ce type de connexion.",
        fix_en: "Enable the grant type (device code or authorization code) in the app registration.",
        fix_fr: "Activer le type d'octroi (code d'appareil ou code d'autorisation) dans l'inscription de l'application.",
    },
    SignInFrequency = 432 {
        en: "A sign-in frequency policy requires a new sign-in (AADSTS70043).",
        fr: "Une stratégie de fréquence de connexion exige une nouvelle connexion (AADSTS70043).",
        fix_en: "Select Acquire on the OAuth screen and sign in again.",
        fix_fr: "Sélectionner Acquérir sur l'écran OAuth et se reconnecter.",
    },
    OAuthError = 433 {
        en: "The provider returned an error.",
        fr: "Le fournisseur a renvoyé une erreur.",
        fix_en: "Read the provider's error code in the log and check the app registration.",
        fix_fr: "Lire le code d'erreur du fournisseur dans le journal et vérifier l'inscription de l'application.",
    },
    SignInTimedOut = 434 {
        en: "The browser sign-in was not completed in time.",
        fr: "La connexion par navigateur n'a pas été terminée à temps.",
        fix_en: "Start the authentication again and finish the sign-in in the browser within ten minutes.",
        fix_fr: "Relancer l'authentification et terminer la connexion dans le navigateur en moins de dix minutes.",
    },
    ScopeNotGranted = 435 {
        en: "The sign-in did not grant access to e-mail (the mail permission was not ticked).",
        fr: "La connexion n'a pas accordé l'accès à l'e-mail (l'autorisation de messagerie n'a pas été cochée).",
        fix_en: "Sign in again and tick the permission to send e-mail on the consent screen.",
        fix_fr: "Se reconnecter et cocher l'autorisation d'envoyer des e-mails sur l'écran de consentement.",
    },
    AccountMismatch = 436 {
        en: "The account that signed in is not the address this token is for; the token was refused.",
        fr: "Le compte qui s'est connecté n'est pas l'adresse à laquelle ce jeton est destiné ; le jeton a été refusé.",
        fix_en: "Sign in again with the account of the address shown, or change the address in the settings to the account that signed in.",
        fix_fr: "Se reconnecter avec le compte de l'adresse indiquée, ou remplacer l'adresse dans les réglages par le compte qui s'est connecté.",
    },
    DeviceCodeFlowBlocked = 437 {
        en: "A Conditional Access policy blocked this device code sign-in (AADSTS53003); many organizations block the device code flow.",
        fr: "Une stratégie d'accès conditionnel a bloqué cette connexion par code d'appareil (AADSTS53003) ; de nombreuses organisations bloquent le flux par code d'appareil.",
        fix_en: "Sign in another way: the browser sign-in (authorization code with PKCE), app-only sending (client credentials), or a token handed in by a print-management server. Or ask the tenant administrator to exclude this app or the printer's network location from the policy that blocks the device code flow.",
        fix_fr: "Se connecter autrement : connexion par navigateur (code d'autorisation avec PKCE), envoi en mode application seule (identifiants client) ou jeton remis par un serveur de gestion d'impression. Ou demander à l'administrateur du locataire d'exclure cette application ou l'emplacement réseau de l'imprimante de la stratégie qui bloque le flux par code d'appareil.",
    },
    AppDisabled = 438 {
        en: "The app is disabled in this tenant: no token is issued for it (AADSTS7000112 / 70001).",
        fr: "L'application est désactivée dans ce locataire : aucun jeton n'est émis pour elle (AADSTS7000112 / 70001).",
        fix_en: "Ask the tenant administrator to enable it (Microsoft Entra: Enterprise applications > the app > Properties > Enabled for users to sign-in: Yes). Or use an app the tenant allows: the organization's own app registration (browser sign-in or app-only), or a token handed in by a print-management server.",
        fix_fr: "Demander à l'administrateur du locataire de l'activer (Microsoft Entra : Applications d'entreprise > l'application > Propriétés > Activée pour que les utilisateurs se connectent : Oui). Ou utiliser une application que le locataire autorise : l'inscription d'application de l'organisation (connexion par navigateur ou application seule), ou un jeton remis par un serveur de gestion d'impression.",
    },
    UserNotAssigned = 439 {
        en: "The tenant lets only assigned users sign in to this app, and this account is not assigned (AADSTS50105).",
        fr: "Le locataire ne laisse se connecter à cette application que les utilisateurs affectés, et ce compte n'est pas affecté (AADSTS50105).",
        fix_en: "Ask the tenant administrator to assign the account or its group to the app (Microsoft Entra: Enterprise applications > the app > Users and groups), or sign in with an assigned account. Or use another sign-in mode: app-only sending, or a token handed in by a print-management server.",
        fix_fr: "Demander à l'administrateur du locataire d'affecter le compte ou son groupe à l'application (Microsoft Entra : Applications d'entreprise > l'application > Utilisateurs et groupes), ou se connecter avec un compte affecté. Ou utiliser un autre mode de connexion : envoi en mode application seule, ou jeton remis par un serveur de gestion d'impression.",
    },
    AdminConsentRequired = 440 {
        en: "Only an administrator can consent to this app in this tenant; the user cannot (AADSTS90094 / 90095).",
        fr: "Seul un administrateur peut donner son consentement à cette application dans ce locataire ; l'utilisateur ne le peut pas (AADSTS90094 / 90095).",
        fix_en: "Have an administrator grant consent for the whole organization (Microsoft Entra: Enterprise applications > the app > Permissions). If a sign-in was refused, sign in again after that; a refused renewal keeps the token. Or use a token handed in by a print-management server.",
        fix_fr: "Faire accorder le consentement pour toute l'organisation par un administrateur (Microsoft Entra : Applications d'entreprise > l'application > Autorisations). Si une connexion a été refusée, se reconnecter ensuite ; un renouvellement refusé conserve le jeton. Ou utiliser un jeton remis par un serveur de gestion d'impression.",
    },
    AssertionSignatureInvalid = 441 {
        en: "The provider refused the signature of the printer's app-only sign-in: no certificate registered for the app matches the printer's key (AADSTS700027).",
        fr: "Le fournisseur a refusé la signature de la connexion en mode application seule de l'imprimante : aucun certificat inscrit pour l'application ne correspond à la clé de l'imprimante (AADSTS700027).",
        fix_en: "Upload the certificate of the printer's key to the app registration (Microsoft Entra: App registrations > the app > Certificates & secrets) and check that the thumbprint set on the printer is that certificate's SHA-256.",
        fix_fr: "Téléverser le certificat de la clé de l'imprimante dans l'inscription de l'application (Microsoft Entra : Inscriptions d'applications > l'application > Certificats et secrets) et vérifier que l'empreinte réglée sur l'imprimante est le SHA-256 de ce certificat.",
    },
    ClientSecretInvalid = 442 {
        en: "The client secret of the app-only sign-in is wrong or has expired (AADSTS7000215 / 7000222).",
        fr: "Le secret client de la connexion en mode application seule est incorrect ou a expiré (AADSTS7000215 / 7000222).",
        fix_en: "Create a new client secret in the app registration (Microsoft Entra: App registrations > the app > Certificates & secrets) and enter its value, not its id, on the printer; or use a certificate credential.",
        fix_fr: "Créer un nouveau secret client dans l'inscription de l'application (Microsoft Entra : Inscriptions d'applications > l'application > Certificats et secrets) et saisir sa valeur, pas son identifiant, sur l'imprimante ; ou utiliser un certificat.",
    },
    AssertionTimeRange = 443 {
        en: "The printer's signed sign-in request is outside its validity period (AADSTS700024), or the printer's clock is not set: its date and time are probably wrong.",
        fr: "La demande de connexion signée de l'imprimante est hors de sa période de validité (AADSTS700024), ou l'horloge de l'imprimante n'est pas réglée : sa date et son heure sont probablement fausses.",
        fix_en: "Set the printer's date, time and time zone, or a time server (NTP), then sign in again.",
        fix_fr: "Régler la date, l'heure et le fuseau horaire de l'imprimante, ou un serveur de temps (NTP), puis se reconnecter.",
    },
    SigningFailed = 444 {
        en: "The printer could not sign its app-only sign-in request with its key (the key store failed, did not answer, or gave a signature longer than 512 octets).",
        fr: "L'imprimante n'a pas pu signer sa demande de connexion en mode application seule avec sa clé (le magasin de clés a échoué, n'a pas répondu ou a donné une signature de plus de 512 octets).",
        fix_en: "Check that the printer's private key is installed and is an RSA key of 2048 to 4096 bits; install it again if needed.",
        fix_fr: "Vérifier que la clé privée de l'imprimante est installée et est une clé RSA de 2048 à 4096 bits ; la réinstaller si besoin.",
    },
    ServiceAccountRefused = 445 {
        en: "Google refused the service account's signed request (invalid_grant): the key was deleted or is not this account's, the printer's clock is wrong, or the mailbox is not a user of the Workspace domain.",
        fr: "Google a refusé la demande signée du compte de service (invalid_grant) : la clé a été supprimée ou n'est pas celle de ce compte, l'horloge de l'imprimante est fausse, ou la boîte aux lettres n'est pas un utilisateur du domaine Workspace.",
        fix_en: "Check the service account's key file is current (Google Cloud console: IAM > Service accounts > Keys), the printer's date and time, and the mailbox address.",
        fix_fr: "Vérifier que le fichier de clé du compte de service est à jour (console Google Cloud : IAM > Comptes de service > Clés), la date et l'heure de l'imprimante, et l'adresse de la boîte aux lettres.",
    },
    DelegationMissing = 446 {
        en: "The service account may not act for this mailbox: domain-wide delegation is not granted for its client id and the mail scope (unauthorized_client).",
        fr: "Le compte de service ne peut pas agir pour cette boîte aux lettres : la délégation au niveau du domaine n'est pas accordée pour son identifiant client et la portée de messagerie (unauthorized_client).",
        fix_en: "In the Google Admin console (Security > Access and data control > API controls > Domain-wide delegation), add the service account's client id with the scope https://mail.google.com/.",
        fix_fr: "Dans la console d'administration Google (Sécurité > Accès et contrôle des données > Commandes des API > Délégation au niveau du domaine), ajouter l'identifiant client du compte de service avec la portée https://mail.google.com/.",
    },

    // 5xx: the token store and the persisted image
    AdminReauthNeeded = 501 {
        en: "The administrator's authentication was cancelled: the token expired or was revoked.",
        fr: "L'authentification de l'administrateur a été annulée : le jeton a expiré ou a été révoqué.",
        fix_en: "On the OAuth screen, select Acquire and sign in with the administrator's account.",
        fix_fr: "Sur l'écran OAuth, sélectionner Acquérir et se connecter avec le compte de l'administrateur.",
    },
    UserReauthNeeded = 502 {
        en: "The user's authentication was cancelled: the token expired or was revoked.",
        fr: "L'authentification de l'utilisateur a été annulée : le jeton a expiré ou a été révoqué.",
        fix_en: "Authenticate again on the OAuth screen at the next send.",
        fix_fr: "S'authentifier à nouveau sur l'écran OAuth au prochain envoi.",
    },
    RefreshTokenExpiring = 503 {
        en: "A refresh token will soon expire, from inactivity or on the date the provider gave with it.",
        fr: "Un jeton d'actualisation va bientôt expirer, pour inactivité ou à la date donnée par le fournisseur.",
        fix_en: "Send a job or select Acquire before it expires; a token whose date the provider gave is renewed only by Acquire (signing in again).",
        fix_fr: "Envoyer un travail ou sélectionner Acquérir avant l'expiration ; un jeton dont le fournisseur a donné la date ne se renouvelle que par Acquérir (nouvelle connexion).",
    },
    NvEmpty = 504 {
        en: "No saved OAuth state was found (first start or erased storage).",
        fr: "Aucun état OAuth enregistré n'a été trouvé (premier démarrage ou mémoire effacée).",
        fix_en: "Configure OAuth and acquire the administrator's token.",
        fix_fr: "Configurer OAuth et acquérir le jeton de l'administrateur.",
    },
    NvCorrupt = 505 {
        en: "A saved OAuth state is damaged and was ignored.",
        fr: "Un état OAuth enregistré est endommagé et a été ignoré.",
        fix_en: "Nothing to do if the other copy loaded; otherwise acquire the tokens again.",
        fix_fr: "Rien à faire si l'autre copie a été chargée ; sinon acquérir de nouveau les jetons.",
    },
    NvNewerFormat = 506 {
        en: "The saved OAuth state comes from a newer firmware.",
        fr: "L'état OAuth enregistré provient d'un micrologiciel plus récent.",
        fix_en: "Update the firmware, or erase the OAuth state and acquire the tokens again.",
        fix_fr: "Mettre à jour le micrologiciel, ou effacer l'état OAuth et acquérir de nouveau les jetons.",
    },
    NvSealOpenFailed = 507 {
        en: "The saved tokens could not be decrypted with this device's key.",
        fr: "Les jetons enregistrés n'ont pas pu être déchiffrés avec la clé de cet appareil.",
        fix_en: "Acquire the tokens again (storage moved from another device or key changed).",
        fix_fr: "Acquérir de nouveau les jetons (mémoire déplacée depuis un autre appareil ou clé changée).",
    },
    TokenStoreFull = 508 {
        en: "There is no free slot for another user's token.",
        fr: "Il n'y a plus d'emplacement libre pour le jeton d'un autre utilisateur.",
        fix_en: "Delete unused users' tokens, or enable automatic deletion of user tokens.",
        fix_fr: "Supprimer les jetons d'utilisateurs inutilisés, ou activer la suppression automatique des jetons.",
    },
    UnknownUser = 509 {
        en: "No token is stored for this user.",
        fr: "Aucun jeton n'est enregistré pour cet utilisateur.",
        fix_en: "Check the user name; the user authenticates at the next send.",
        fix_fr: "Vérifier le nom d'utilisateur ; l'utilisateur s'authentifiera au prochain envoi.",
    },
    StorageFault = 510 {
        en: "The saved OAuth state could not be read or written: a local storage fault (unreadable, oversized or misplaced file, full or read-only storage).",
        fr: "L'état OAuth enregistré n'a pas pu être lu ou écrit : défaut du stockage local (fichier illisible, trop grand ou mal placé, stockage plein ou en lecture seule).",
        fix_en: "Check the storage named in the log (free space, permissions, a file of the state replaced by another); if it cannot be repaired, erase the OAuth state and acquire the tokens again.",
        fix_fr: "Vérifier le stockage indiqué dans le journal (espace libre, droits, un fichier de l'état remplacé par un autre) ; s'il ne peut pas être réparé, effacer l'état OAuth et acquérir de nouveau les jetons.",
    },
    NvPreviousRestored = 511 {
        en: "The newest saved settings were damaged; the previous ones were restored.",
        fr: "Les derniers réglages enregistrés étaient endommagés ; les précédents ont été restaurés.",
        fix_en: "Check the OAuth settings and the tokens' statuses: the last change before the power-on (a setting, an Acquire, a token renewal) may be lost; make it again if so.",
        fix_fr: "Vérifier les réglages OAuth et l'état des jetons : la dernière modification avant la mise sous tension (un réglage, une acquisition, un renouvellement de jeton) peut être perdue ; la refaire le cas échéant.",
    },
    NvImageChanged = 512 {
        en: "The OAuth state changed while its image was being written in pieces; that image is not complete and was not confirmed.",
        fr: "L'état OAuth a changé pendant l'écriture de son image par morceaux ; cette image est incomplète et n'a pas été confirmée.",
        fix_en: "Nothing was lost: the previous image is still good. Write the image again (the save step is asked for again).",
        fix_fr: "Rien n'est perdu : l'image précédente reste valide. Écrire de nouveau l'image (l'étape d'enregistrement est redemandée).",
    },
    HandedTokenExpired = 513 {
        en: "The access token handed in from outside (by a print-management server) has expired, was set aside to make room for another account's long token, or was never handed in, and this account has no refresh token to renew it.",
        fr: "Le jeton d'accès fourni de l'extérieur (par un serveur de gestion d'impression) a expiré, a été écarté pour faire place au long jeton d'un autre compte, ou n'a jamais été fourni, et ce compte n'a pas de jeton d'actualisation pour le renouveler.",
        fix_en: "Have the print-management server hand in a new token (after a restart too: handed-in tokens are not saved), or sign in another way (device code, browser, app-only).",
        fix_fr: "Faire fournir un nouveau jeton par le serveur de gestion d'impression (après un redémarrage aussi : les jetons fournis ne sont pas enregistrés), ou se connecter d'une autre manière (code d'appareil, navigateur, application seule).",
    },
    NvTooManyUsers = 514 {
        en: "The saved OAuth state holds more users' tokens than there are user slots; it was not loaded.",
        fr: "L'état OAuth enregistré contient plus de jetons d'utilisateur qu'il n'y a d'emplacements ; il n'a pas été chargé.",
        fix_en: "Nothing was lost. Start with more user slots (8 always suffice); do not create a new state over the saved one.",
        fix_fr: "Rien n'est perdu. Démarrer avec plus d'emplacements d'utilisateur (8 suffisent toujours) ; ne pas créer un nouvel état par-dessus l'état enregistré.",
    },

    // 6xx: the network path
    DnsFailed = 601 {
        en: "The server name could not be resolved.",
        fr: "Le nom du serveur n'a pas pu être résolu.",
        fix_en: "Check the DNS settings and the server name.",
        fix_fr: "Vérifier les réglages DNS et le nom du serveur.",
    },
    ConnectFailed = 602 {
        en: "The connection to the server failed.",
        fr: "La connexion au serveur a échoué.",
        fix_en: "Check the address, the port, the firewall and the proxy settings.",
        fix_fr: "Vérifier l'adresse, le port, le pare-feu et les paramètres proxy.",
    },
    TlsHandshakeFailed = 603 {
        en: "The TLS handshake with the server failed.",
        fr: "La négociation TLS avec le serveur a échoué.",
        fix_en: "Check the TLS version settings (TLS 1.2 or later).",
        fix_fr: "Vérifier les réglages de version TLS (TLS 1.2 ou ultérieure).",
    },
    CertificateInvalid = 604 {
        en: "The server's certificate could not be verified.",
        fr: "Le certificat du serveur n'a pas pu être vérifié.",
        fix_en: "Check the date and time, the server name, and the installed root certificates.",
        fix_fr: "Vérifier la date et l'heure, le nom du serveur et les certificats racine installés.",
    },
    NetworkTimeout = 605 {
        en: "The network did not answer in time.",
        fr: "Le réseau n'a pas répondu à temps.",
        fix_en: "Check the network path and try again.",
        fix_fr: "Vérifier le chemin réseau et réessayer.",
    },
    IoError = 606 {
        en: "A network read or write failed.",
        fr: "Une lecture ou une écriture réseau a échoué.",
        fix_en: "Try again; check the network if it persists.",
        fix_fr: "Réessayer ; vérifier le réseau si le problème persiste.",
    },
    CertificateExpired = 607 {
        en: "The server's certificate has expired or is not valid yet.",
        fr: "Le certificat du serveur a expiré ou n'est pas encore valide.",
        fix_en: "Check the printer's date and time (a wrong clock makes every certificate look expired); if they are right, the server's certificate must be renewed.",
        fix_fr: "Vérifier la date et l'heure de l'imprimante (une horloge fausse fait paraître tout certificat expiré) ; si elles sont justes, le certificat du serveur doit être renouvelé.",
    },
    CertificateWrongName = 608 {
        en: "The server's certificate was issued for another name than the server address set.",
        fr: "Le certificat du serveur a été émis pour un autre nom que l'adresse de serveur réglée.",
        fix_en: "Set the server's host name as its certificate names it (not an IP address or an alias); otherwise something on the network is intercepting the connection.",
        fix_fr: "Régler le nom d'hôte du serveur tel que son certificat le nomme (pas une adresse IP ni un alias) ; sinon un équipement du réseau intercepte la connexion.",
    },
    CertificateUntrusted = 609 {
        en: "The server's certificate is not signed by a trusted authority (unknown or self-signed).",
        fr: "Le certificat du serveur n'est pas signé par une autorité de confiance (inconnue ou auto-signée).",
        fix_en: "If the network uses a TLS-inspecting proxy or a private authority, install its root certificate on the printer; otherwise the connection is being intercepted.",
        fix_fr: "Si le réseau utilise un proxy d'inspection TLS ou une autorité privée, installer son certificat racine sur l'imprimante ; sinon la connexion est interceptée.",
    },
    TlsVersionMismatch = 610 {
        en: "The server and the printer have no TLS version in common within the TLS minimum and maximum set.",
        fr: "Le serveur et l'imprimante n'ont aucune version TLS en commun entre les versions TLS minimale et maximale réglées.",
        fix_en: "Widen the TLS range in the settings to a version the server offers (servers capped at TLS 1.2 need a minimum of TLS 1.2).",
        fix_fr: "Élargir la plage TLS dans les réglages à une version que le serveur propose (un serveur limité à TLS 1.2 exige un minimum de TLS 1.2).",
    },

    // 7xx: the mail API (Microsoft Graph, the Gmail API)
    ApiTokenRejected = 701 {
        en: "The mail API rejected the access token (401).",
        fr: "L'API de messagerie a refusé le jeton d'accès (401).",
        fix_en: "A rejected token is refreshed and tried once more; if it still fails, sign in again with the mailbox's account.",
        fix_fr: "Un jeton refusé est actualisé et réessayé une fois ; s'il échoue encore, se reconnecter avec le compte de la boîte aux lettres.",
    },
    ApiAccessDenied = 702 {
        en: "The mail API denied sending: the token lacks the permission (403).",
        fr: "L'API de messagerie a refusé l'envoi : le jeton n'a pas l'autorisation (403).",
        fix_en: "Microsoft: grant Mail.Send to the app registration (admin consent for app-only). Google: allow the gmail.send scope. Then sign in again.",
        fix_fr: "Microsoft : accorder Mail.Send à l'inscription d'application (consentement administrateur pour l'accès en tant qu'application). Google : autoriser la portée gmail.send. Puis se reconnecter.",
    },
    ApiSendAsDenied = 703 {
        en: "The mail API refused the sender address: the account may not send as it (403).",
        fr: "L'API de messagerie a refusé l'adresse d'expéditeur : le compte ne peut pas envoyer en son nom (403).",
        fix_en: "Give the signed-in account Send As permission on that mailbox (Exchange admin center), or send from the account's own address.",
        fix_fr: "Donner au compte connecté l'autorisation Envoyer en tant que sur cette boîte aux lettres (centre d'administration Exchange), ou envoyer depuis l'adresse du compte.",
    },
    ApiMailboxUnavailable = 704 {
        en: "The mailbox cannot be reached through the mail API (not found, not licensed, or not hosted online).",
        fr: "La boîte aux lettres est inaccessible par l'API de messagerie (introuvable, sans licence ou non hébergée en ligne).",
        fix_en: "Check the address, its licence and that the mailbox is in Exchange Online or Gmail; otherwise use SMTP.",
        fix_fr: "Vérifier l'adresse, sa licence et que la boîte est dans Exchange Online ou Gmail ; sinon utiliser SMTP.",
    },
    ApiThrottled = 705 {
        en: "The mail API is throttling this mailbox or app (429 or 503 with Retry-After).",
        fr: "L'API de messagerie limite cette boîte aux lettres ou cette application (429 ou 503 avec Retry-After).",
        fix_en: "Send again after the wait the server gave; spread large batches over time.",
        fix_fr: "Renvoyer après le délai indiqué par le serveur ; étaler les gros lots dans le temps.",
    },
    ApiMessageTooLarge = 706 {
        en: "The message is larger than the mail API takes (Graph: 150 MB, at most 4 files of 1 MB or more, the text and the other files together under 3 MB; Gmail API: 35 MiB).",
        fr: "Le message dépasse ce que l'API de messagerie accepte (Graph : 150 Mo, au plus 4 fichiers de 1 Mo ou plus, le texte et les autres fichiers ensemble sous 3 Mo ; API Gmail : 35 Mio).",
        fix_en: "Scan at a lower resolution or in several jobs, or send through SMTP.",
        fix_fr: "Numériser à une résolution plus faible ou en plusieurs travaux, ou envoyer par SMTP.",
    },
    ApiMessageRefused = 707 {
        en: "The mail API refused the message as malformed or without a valid recipient (400).",
        fr: "L'API de messagerie a refusé le message comme mal formé ou sans destinataire valide (400).",
        fix_en: "Check the recipients' addresses; if it persists, send the support log to the printer's maker.",
        fix_fr: "Vérifier les adresses des destinataires ; si le problème persiste, envoyer le journal au fabricant de l'imprimante.",
    },
    ApiServiceDisabled = 708 {
        en: "Mail through the API is not enabled for this account or domain.",
        fr: "Le courrier par l'API n'est pas activé pour ce compte ou ce domaine.",
        fix_en: "Google: enable Gmail for the user and allow API access in the Admin console. Microsoft: check the mailbox and the tenant's app access policy.",
        fix_fr: "Google : activer Gmail pour l'utilisateur et autoriser l'accès API dans la console d'administration. Microsoft : vérifier la boîte aux lettres et la stratégie d'accès des applications du locataire.",
    },
    ApiServerError = 709 {
        en: "The mail API failed on its side (5xx) before it had the message.",
        fr: "L'API de messagerie a échoué de son côté (5xx) avant d'avoir le message.",
        fix_en: "Try again later; the message was not sent.",
        fix_fr: "Réessayer plus tard ; le message n'a pas été envoyé.",
    },
    ApiUnexpectedResponse = 710 {
        en: "The mail API answered with a status or body this printer does not expect.",
        fr: "L'API de messagerie a répondu avec un statut ou un corps inattendu.",
        fix_en: "Check the API URL; if it is right, send the support log to the printer's maker.",
        fix_fr: "Vérifier l'URL de l'API ; si elle est juste, envoyer le journal au fabricant de l'imprimante.",
    },
}

#[cfg(test)]
mod reply_tests;

/// Implemented by every error type of the core: the diagnostic it maps to.
pub trait Diagnostic {
    /// The stable diagnostic id for this failure.
    fn diag(&self) -> Id;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_round_trip_and_sorted() {
        let mut last = 0;
        for id in Id::ALL {
            assert!(id.number() > last, "{id:?} out of order");
            last = id.number();
            assert_eq!(Id::from_number(id.number()), Some(*id));
        }
        assert_eq!(Id::from_number(0), None);
        assert_eq!(Id::from_number(999), None);
    }

    #[test]
    fn every_id_has_both_languages_and_a_remedy() {
        for id in Id::ALL {
            for lang in [Lang::En, Lang::Fr] {
                assert!(id.message(lang).len() > 10, "{id:?} {lang:?}");
                assert!(id.remedy(lang).len() > 10, "{id:?} {lang:?}");
                // What a panel's line and help box hold (and the C tests'
                // buffers, with the NUL): 255 and 511 octets.
                assert!(id.message(lang).len() < 256, "{id:?} {lang:?} too long");
                assert!(id.remedy(lang).len() < 512, "{id:?} {lang:?} too long");
            }
            assert_ne!(
                id.message(Lang::En),
                id.message(Lang::Fr),
                "{id:?} untranslated"
            );
        }
    }

    #[test]
    fn smtp_auth_disabled_points_to_the_admin_center_setting() {
        // R-DIAG: the remedy names where "Authenticated SMTP" is switched on.
        let remedy = Id::SmtpAuthDisabled.remedy(Lang::En);
        assert!(remedy.contains("Authenticated SMTP"));
        assert!(Id::SmtpAuthDisabled
            .remedy(Lang::Fr)
            .contains("SMTP authentifié"));
        assert_eq!(Id::SmtpAuthDisabled.actor(), Actor::MailServer);
        assert_eq!(Id::VlanOnNetwork2.actor(), Actor::Administrator);
    }

    #[test]
    fn consent_remedy_is_true_after_a_refused_sign_in_and_a_refused_renewal() {
        // Issue 17: a renewal refused for consent keeps the token (R-TOK-4),
        // so the remedy does not send everyone to sign in again.
        for (lang, kept, again) in [
            (
                Lang::En,
                "keeps the token",
                "If a sign-in was refused, sign in again",
            ),
            (
                Lang::Fr,
                "conserve le jeton",
                "Si une connexion a été refusée, se reconnecter",
            ),
        ] {
            let remedy = Id::ConsentMissing.remedy(lang);
            assert!(remedy.contains(kept) && remedy.contains(again), "{remedy}");
            assert!(!remedy.ends_with("then sign in again."), "{remedy}");
        }
    }
}
