"""Message catalogues of the web pages: English and French, complete for every page.

A plain module of dictionaries rather than Babel and gettext files: the pages have
a few hundred words, a dictionary needs no extraction or compile step (nothing to
run in `make demo`), and a test checks that every language has every key. A
language is added by adding a dictionary; `DIRECTION` says which way it is written,
and the templates put it on `<html dir=...>` and use logical CSS properties only.
"""

from __future__ import annotations

from collections.abc import Callable

DEFAULT = "en"
DIRECTION = {"en": "ltr", "fr": "ltr"}

EN: dict[str, str] = {
    "app": "noticenet",
    "skip": "Skip to content",
    "lang.name": "English",
    "nav.home": "Home",
    "nav.border": "Border check",
    "nav.search": "Search persons",
    "nav.publish_sltd": "Report a document",
    "nav.publish_red": "Publish a red notice",
    "nav.mine": "My records",
    "nav.signout": "Sign out",
    "nav.language": "Language",
    "signin.title": "Sign in",
    "signin.intro": "Sign in with the API token your node's administrator gave you.",
    "signin.token": "API token",
    "signin.submit": "Sign in",
    "signin.bad": "This token is not known to this node.",
    "signin.expired": "Your session has ended. Please sign in again.",
    "signout.done": "You are signed out.",
    "home.title": "Welcome",
    "home.who": "Signed in as {name} ({role}) on member {member}.",
    "forbidden.title": "Not allowed",
    "forbidden.text": "Your role ({role}) may not open this page; it needs {needed}.",
    "csrf.title": "Form refused",
    "csrf.text": "This form was not sent from this site's page (its security token is "
    "missing or stale). Open the page again and resend it.",
    "border.title": "Check a traveller, a vehicle or a firearm",
    "border.mrz": "Machine-readable zone (MRZ)",
    "border.mrz.lines": "MRZ lines (2 or 3 lines, as printed)",
    "border.doc": "Document by country and number",
    "border.country": "Issuing country (3 letters)",
    "border.number": "Document number",
    "border.vehicle": "Vehicle",
    "border.vin": "VIN (17 characters)",
    "border.firearm": "Firearm",
    "border.make": "Make",
    "border.serial": "Serial number",
    "border.check": "Check",
    "result.hit": "HIT — recorded in {count} record(s). Do not let this pass.",
    "result.miss": "NO HIT — nothing is recorded against this.",
    "result.action": "Action asked",
    "result.contact": "Contact",
    "result.contact.text": "the National Central Bureau of {author} (record {id})",
    "action.sltd": "Seize the document; check the holder's identity and hold them until the "
    "issuing bureau has answered.",
    "action.vehicle": "Hold the vehicle; do not release it until the reporting bureau has "
    "answered.",
    "action.firearm": "Seize the firearm and secure it.",
    "action.notice.red": "Locate and provisionally arrest the person with a view to extradition.",
    "action.other": "Follow the record's instructions.",
    "error.mrz": "The MRZ is wrong in the field: {field}.",
    "error.field": "Please correct this field.",
    "error.form": "The record was not published. Correct the fields marked below.",
    "search.title": "Search persons",
    "search.hint": "Spelling need not be exact: accents, case and common variants are forgiven.",
    "search.name": "Family name",
    "search.forename": "Forename",
    "search.dob": "Date of birth (YYYY-MM-DD)",
    "search.submit": "Search",
    "search.count": "{count} record(s) found.",
    "search.none": "No person matches.",
    "record.title": "Record",
    "record.kind": "Kind",
    "record.author": "Author",
    "record.issued": "Issued",
    "record.expires": "Expires",
    "record.open": "Open",
    "record.missing": "This record does not exist here, or you may not read it.",
    "publish.sltd.title": "Report a stolen or lost travel document",
    "publish.red.title": "Publish a red notice",
    "publish.submit": "Publish",
    "publish.done": "Published: record {id}.",
    "f.document_number": "Document number",
    "f.document_type": "Document type (P, ID...)",
    "f.issuing_country": "Issuing country (3 letters)",
    "f.status": "Status",
    "f.holder_name": "Holder's family name",
    "f.holder_forename": "Holder's forename",
    "f.holder_date_of_birth": "Holder's date of birth (YYYY-MM-DD)",
    "f.subject.name": "Family name",
    "f.subject.forename": "Forename",
    "f.subject.date_of_birth": "Date of birth (YYYY-MM-DD)",
    "f.subject.sex": "Sex",
    "f.subject.nationalities": "Nationalities (3-letter codes, separated by spaces)",
    "f.subject.place_of_birth": "Place of birth",
    "f.subject.distinguishing_marks": "Distinguishing marks",
    "f.charge": "Charge",
    "f.warrant_country": "Country issuing the arrest warrant (3 letters)",
    "f.summary": "Summary",
    "sex.U": "Unknown",
    "sex.M": "Male",
    "sex.F": "Female",
    "status.stolen": "Stolen",
    "status.lost": "Lost",
    "status.revoked": "Revoked",
    "status.invalid": "Invalid",
    "status.stolen-blank": "Stolen blank",
    "mine.title": "My records",
    "mine.none": "This member has published no live record of these kinds.",
    "mine.cancel": "Cancel",
    "mine.reason": "Reason for cancelling",
    "mine.cancelled": "Record {id} is cancelled.",
    "error.publish": "The record was refused: {detail}",
}

FR: dict[str, str] = {
    "app": "noticenet",
    "skip": "Aller au contenu",
    "lang.name": "Français",
    "nav.home": "Accueil",
    "nav.border": "Contrôle frontière",
    "nav.search": "Rechercher des personnes",
    "nav.publish_sltd": "Signaler un document",
    "nav.publish_red": "Publier une notice rouge",
    "nav.mine": "Mes enregistrements",
    "nav.signout": "Se déconnecter",
    "nav.language": "Langue",
    "signin.title": "Connexion",
    "signin.intro": "Connectez-vous avec le jeton d'API que l'administrateur de votre nœud "
    "vous a remis.",
    "signin.token": "Jeton d'API",
    "signin.submit": "Se connecter",
    "signin.bad": "Ce jeton est inconnu de ce nœud.",
    "signin.expired": "Votre session a expiré. Veuillez vous reconnecter.",
    "signout.done": "Vous êtes déconnecté.",
    "home.title": "Bienvenue",
    "home.who": "Connecté en tant que {name} ({role}) sur le membre {member}.",
    "forbidden.title": "Accès refusé",
    "forbidden.text": "Votre rôle ({role}) ne permet pas d'ouvrir cette page ; il faut {needed}.",
    "csrf.title": "Formulaire refusé",
    "csrf.text": "Ce formulaire n'a pas été envoyé depuis une page de ce site (son jeton "
    "de sécurité manque ou a expiré). Rouvrez la page et renvoyez-le.",
    "border.title": "Contrôler un voyageur, un véhicule ou une arme",
    "border.mrz": "Zone de lecture automatique (ZLA)",
    "border.mrz.lines": "Lignes de la ZLA (2 ou 3 lignes, telles qu'imprimées)",
    "border.doc": "Document par pays et numéro",
    "border.country": "Pays de délivrance (3 lettres)",
    "border.number": "Numéro du document",
    "border.vehicle": "Véhicule",
    "border.vin": "Numéro d'identification (VIN, 17 caractères)",
    "border.firearm": "Arme à feu",
    "border.make": "Marque",
    "border.serial": "Numéro de série",
    "border.check": "Contrôler",
    "result.hit": "RÉPONSE POSITIVE — signalé dans {count} enregistrement(s). Ne pas "
    "laisser passer.",
    "result.miss": "AUCUNE RÉPONSE — rien n'est signalé.",
    "result.action": "Mesure demandée",
    "result.contact": "Contact",
    "result.contact.text": "le Bureau central national de {author} (enregistrement {id})",
    "action.sltd": "Saisir le document ; vérifier l'identité du porteur et le retenir "
    "jusqu'à la réponse du bureau émetteur.",
    "action.vehicle": "Immobiliser le véhicule jusqu'à la réponse du bureau qui l'a signalé.",
    "action.firearm": "Saisir l'arme et la mettre en sécurité.",
    "action.notice.red": "Localiser la personne et l'arrêter provisoirement en vue de son "
    "extradition.",
    "action.other": "Suivre les instructions de l'enregistrement.",
    "error.mrz": "La ZLA est erronée dans le champ : {field}.",
    "error.field": "Veuillez corriger ce champ.",
    "error.form": "L'enregistrement n'a pas été publié. Corrigez les champs signalés ci-dessous.",
    "search.title": "Rechercher des personnes",
    "search.hint": "L'orthographe n'a pas besoin d'être exacte : accents, casse et "
    "variantes courantes sont tolérés.",
    "search.name": "Nom de famille",
    "search.forename": "Prénom",
    "search.dob": "Date de naissance (AAAA-MM-JJ)",
    "search.submit": "Rechercher",
    "search.count": "{count} enregistrement(s) trouvé(s).",
    "search.none": "Aucune personne ne correspond.",
    "record.title": "Enregistrement",
    "record.kind": "Type",
    "record.author": "Auteur",
    "record.issued": "Émis le",
    "record.expires": "Expire le",
    "record.open": "Ouvrir",
    "record.missing": "Cet enregistrement n'existe pas ici, ou vous ne pouvez pas le lire.",
    "publish.sltd.title": "Signaler un document de voyage volé ou perdu",
    "publish.red.title": "Publier une notice rouge",
    "publish.submit": "Publier",
    "publish.done": "Publié : enregistrement {id}.",
    "f.document_number": "Numéro du document",
    "f.document_type": "Type de document (P, ID...)",
    "f.issuing_country": "Pays de délivrance (3 lettres)",
    "f.status": "Statut",
    "f.holder_name": "Nom de famille du titulaire",
    "f.holder_forename": "Prénom du titulaire",
    "f.holder_date_of_birth": "Date de naissance du titulaire (AAAA-MM-JJ)",
    "f.subject.name": "Nom de famille",
    "f.subject.forename": "Prénom",
    "f.subject.date_of_birth": "Date de naissance (AAAA-MM-JJ)",
    "f.subject.sex": "Sexe",
    "f.subject.nationalities": "Nationalités (codes à 3 lettres, séparés par des espaces)",
    "f.subject.place_of_birth": "Lieu de naissance",
    "f.subject.distinguishing_marks": "Signes particuliers",
    "f.charge": "Chef d'accusation",
    "f.warrant_country": "Pays ayant délivré le mandat d'arrêt (3 lettres)",
    "f.summary": "Résumé",
    "sex.U": "Inconnu",
    "sex.M": "Masculin",
    "sex.F": "Féminin",
    "status.stolen": "Volé",
    "status.lost": "Perdu",
    "status.revoked": "Révoqué",
    "status.invalid": "Invalide",
    "status.stolen-blank": "Vierge volé",
    "mine.title": "Mes enregistrements",
    "mine.none": "Ce membre n'a publié aucun enregistrement actif de ces types.",
    "mine.cancel": "Annuler",
    "mine.reason": "Motif de l'annulation",
    "mine.cancelled": "L'enregistrement {id} est annulé.",
    "error.publish": "L'enregistrement a été refusé : {detail}",
}

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "fr": FR}


def choose(cookie: str | None, accept_language: str) -> str:
    """The page language: the user's choice (cookie), else the browser's first known one."""
    if cookie in CATALOGUES:
        return str(cookie)
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in CATALOGUES:
            return code
    return DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)` for one language; a missing key falls back to English."""
    catalogue = CATALOGUES.get(lang, EN)

    def t(key: str, **values: object) -> str:
        text = catalogue.get(key) or EN.get(key) or key
        return text.format(**values) if values else text

    return t
