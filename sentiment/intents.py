"""What the customer wants, from phrase rules in en/it/es/fr/de/pt.

Intent is about the action a care team must take, not about mood: a polite "I've been waiting
3 weeks for my refund" is a refund request and a complaint. Rules are used on purpose: they are
auditable, they work the same for every backend, and the public sentiment corpora carry no
intent labels to learn them from. All languages' patterns run on every text, so mixed-language
messages and a wrong language guess still match.

Precedence of the primary intent (:data:`PRECEDENCE`): urgent (legal threat, safety, fraud)
first because it must reach a person fastest; a refund before a generic complaint because it
names the remedy the reply must address; a complaint before a question because a question
inside a complaint is answered as part of handling the complaint.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .base import Intent

__all__ = ["COMPLAINT_INTENTS", "PRECEDENCE", "detect", "primary"]

PRECEDENCE = (
    Intent.URGENT,
    Intent.REFUND,
    Intent.COMPLAINT,
    Intent.QUESTION,
    Intent.PRAISE,
    Intent.SPAM,
)
COMPLAINT_INTENTS = frozenset({Intent.URGENT, Intent.REFUND, Intent.COMPLAINT})
"""Intents that make a message a complaint whatever its tone."""

_SOLVED = (
    r"(?!\w)(?! (?:is |was |now |are |è |ist |fue |foi |est )?"
    r"(?:solved|fixed|resolved|sorted|risolto|gelöst|resuelto|solucionado|resolvido|résolu))"
)
"""Not followed by "solved": "problem solved, thanks!" is praise, not a complaint."""
_PATTERNS: dict[Intent, tuple[str, ...]] = {
    Intent.URGENT: (
        # legal threats
        r"lawyers?|attorney|solicitor|sue|suing|lawsuit|legal action|small claims|trading standards|ombudsman",
        r"avvocat[oi]|denunci[ao]|querela|carabinieri|polizia|codacons|vie legali|azione legale",
        r"abogad[oa]s?|demandar|demandaré|denunciar|denunciaré|acciones legales|policía",
        r"avocats?|porter plainte|poursuites? judiciaires?|tribunal",
        r"anwalt|anwältin|rechtsanwalt|klage|verklagen|anzeige|polizei|verbraucherzentrale",
        r"advogad[oa]|processar|procon|denúncia|polícia",
        # safety
        r"caught fire|on fire|fire hazard|smoke (?:came|coming)|smoking|explod\w*|burn(?:ed|t|s)|electric shock|"
        r"injur\w*|"
        r"(?:in|to) (?:the )?hospital|hospitali[sz]ed|poison\w*|"
        r"unsafe|dangerous|gas leak|choking",
        r"incendi\w*|fumo|esplos\w*|bruciat\w*|scossa|ferit[oa]|ospedale|intossica\w*|pericolos\w*",
        r"incendio|humo|explot\w*|quemad\w*|herid[oa]|hospital|intoxica\w*|peligros\w*",
        r"incendie|fumée|explos\w*|brûl\w*|blessé\w*|hôpital|dangereu\w*",
        r"brennt|in brand|rauch|explodiert|verbrannt|verletzt|krankenhaus|vergiftung|gefährlich",
        r"incêndio|fumaça|explodiu|queimad\w*|ferid[oa]|perigos\w*",
        # fraud and account takeover
        r"fraud\w*|scam(?:med)?|stolen|hacked|unauthori[sz]ed|identity theft|phishing|charged twice|double charged",
        r"truff\w*|frode|rubat\w*|hackerat\w*|addebit\w* non autorizzat\w*|clonat\w*|addebitat\w* due volte",
        r"fraude|estafa\w*|robad\w*|hackead\w*|suplantación|cobrad\w* dos veces",
        r"arnaque|escroquerie|piraté|volé|usurpation|débité deux fois",
        r"betrug|betrüger\w*|gehackt|gestohlen|abgebucht ohne|doppelt abgebucht",
        r"golpe|fraude|roubad\w*|hackead\w*|clonad\w*|cobrad\w* duas vezes",
    ),
    Intent.REFUND: (
        r"refund\w*|money back|reimburs\w*|chargeback|return(?:ing)? (?:it|the|my|this)|send (?:it|them) back|"
        r"compensat\w*",
        r"rimbors\w*|soldi indietro|indietro i (?:miei )?soldi|reso|restituzione|restituire|risarciment\w*",
        r"reembols\w*|devoluci[oó]n|devolver|mi dinero|compensaci[oó]n",
        r"rembours\w*|retour(?:ner)?|renvoyer|mon argent|dédommag\w*",
        r"erstatt\w*|rückerstatt\w*|geld zurück|mein geld|rücksendung|zurückschicken|umtausch|entschädig\w*",
        r"reembols\w*|devolução|devolver|meu dinheiro|estorno|ressarc\w*",
    ),
    Intent.COMPLAINT: (
        r"still (?:waiting|not|no|haven't|hasn't)|waiting (?:for|since) \w+|been waiting|(?:never|not) (?:arrived|"
        r"received|delivered|came)|"
        r"doesn'?t work|does not work|not working|stopped working|broken|no (?:one|body) (?:answers|replies|"
        r"responds|helps)|"
        r"nobody (?:answers|replies|responds|helps)|worst|terrible|awful|horrible|disgust\w*|unacceptable|ridiculous|"
        r"disappoint\w*|useless|pathetic|shame on you|complain\w*|cancel+ed|overcharged|rude|fed up|sick of|"
        r"on hold for|hours on hold|no response|no reply|can'?t (?:log ?in|access|connect|get|use|find|load)|"
        r"keeps? (?:crashing|freezing|failing|dropping)|error|"
        # how customers describe a fault to a brand: effort spent, things that stop, asks for help
        r"(?:stopp?ed|stops?) working|won'?t (?:work|load|start|restart|connect|open|let)|does(?:n'?t| not) let me|"
        r"tried (?:everything|again|several|many|multiple|different|\w+ times)|please help|help me|help!|"
        r"freez\w*|crash\w*|slow ?down|so slow|too slow|skipping|drain\w*|dead end|(?:is|went|still) down|outage|"
        r"delay(?:ed|s)?|messed up|screwed up|sux|sucks?|grr+|paralys\w*|bricked|not happy|unhappy|not keen|"
        r"suffer\w*|disgrace\w*|killing my|(?:problems?|issues?)"
        rf"{_SOLVED}|bug(?:s|gy)?|sort (?:it|this|your \w+(?: \w+)?) out|fix (?:it|this|your)",
        r"vergogn\w*|non funziona\w*|non va|mai arrivat\w*|non (?:è )?(?:ancora )?arrivat\w*|ancora (?:in attesa|"
        r"aspetto|niente)|"
        r"nessuno risponde|non rispond\w*|aspetto da|sto aspettando|in attesa da|pessim\w*|schif\w*|inaccettabil\w*|"
        r"ridicol\w*|delus\w*|reclam\w*|disservizio|guast\w*|rott[oa]|bloccat\w*|si blocca|non riesco|non mi fa|ladri|"
        r"scandal\w*|aiuto|ho provato|lentissim\w*|ritardo|"
        rf"problem[ai]{_SOLVED}",
        r"vergüenza|no funciona|nunca (?:llegó|llego)|no (?:ha )?llegado|nadie (?:responde|contesta)|sigo esperando|"
        r"llevo \w+ (?:días|semanas) esperando|pésim\w*|pesim\w*|inaceptable|reclamaci\w*|queja\w*|estropead\w*|"
        r"roto|rota|"
        r"ayuda|no puedo|no me deja|se cuelga|retraso|"
        rf"problemas?{_SOLVED}",
        r"honte|ne fonctionne pas|marche pas|jamais (?:reçu|arrivé)|toujours pas|personne ne répond|j'attends|"
        r"inadmissible|"
        r"inacceptable|lamentable|déçu\w*|réclamation|plainte|en panne|cassé|aidez-moi|je n'arrive pas|impossible de|"
        r"plante|problèmes?|retard",
        r"schande|funktioniert nicht|geht nicht|nie angekommen|nicht angekommen|immer noch nicht|warte seit|"
        r"niemand antwortet|"
        r"keine antwort|unverschämt\w*|enttäusch\w*|beschwerde|kaputt|frechheit|katastroph\w*|hilfe|kann nicht|"
        r"stürzt ab|verspätung|"
        rf"problem(?:e|en)?{_SOLVED}",
        r"vergonha|não funciona|nao funciona|nunca chegou|não chegou|nao chegou|ainda (?:não|nao|estou esperando)|"
        r"ninguém responde|ninguem responde|esperando há|péssim\w*|pessim\w*|absurdo|reclama\w*|quebrad\w*|descaso|"
        r"ajuda|não consigo|nao consigo|trava|não deixa|atraso|"
        rf"problemas?{_SOLVED}",
    ),
    Intent.QUESTION: (
        r"\?",
        r"^(?:how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should)\b",
        r"^(?:come|cosa|quando|dove|perché|perche|quale|quanto|chi|posso|potete|si può)\b",
        r"^(?:cómo|qué|cuándo|dónde|por qué|cuál|cuánto|puedo|pueden)\b",
        r"^(?:comment|quoi|quand|où|pourquoi|quel\w*|combien|est-ce|puis-je|pouvez)\b",
        r"^(?:wie|was|wann|wo|warum|welche\w*|wieviel|kann|können|gibt es)\b",
        r"^(?:quando|onde|por que|qual|quanto|posso|podem)\b",
    ),
    Intent.PRAISE: (
        r"thanks?|thank you|thx|ty|great (?:service|job|support)|well done|love (?:it|you|this)|amazing|awesome|"
        r"excellent|fantastic|brilliant|appreciate\w*|you rock|best (?:service|support)|kudos",
        r"grazie|complimenti|fantastic\w*|ottim\w*|eccellent\w*|bravissim\w*|perfett\w*|gentilissim\w*|servizio top",
        r"gracias|genial|excelente|enhorabuena|felicidades|increíble|maravillos\w*",
        r"merci|génial|excellent\w*|bravo|parfait\w*|formidable|au top",
        r"danke|vielen dank|super service|toll|klasse|hervorragend|perfekt|großartig",
        r"obrigad\w*|valeu|excelente|parabéns|perfeit\w*|ótim\w*|otim\w*",
    ),
    Intent.SPAM: (
        r"follow (?:me|back|for follow)|f4f|click (?:here|the link)|check (?:out )?my (?:profile|bio|page|channel)|"
        r"free (?:followers|iphone|gift|money|crypto)|giveaway|promo code|earn \$?\d+|make money|work from home|"
        r"crypto|bitcoin|forex|onlyfans|dm (?:me )?for (?:promo|collab)|link in bio|subscribe to my",
        r"seguimi|seguitemi|guadagn\w* da casa|clicca qui|sígueme|sigueme|suivez-moi|folgt mir|me segue|sigam",
    ),
}


def _alternatives(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|`` (not inside groups, classes or after a backslash)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex per intent over lower-cased text, phrases grouped by their first letter.

    Grouping is for speed only (it halves the time: at each word start the engine tries a few
    dozen first letters instead of hundreds of phrases), and matches exactly the same texts.
    No IGNORECASE, which is slower: the text is lower-cased first. Every phrase starts with a
    letter or a group, so ``\\b`` before it means "no letter or digit just before".
    """
    anchored = [p for p in patterns if p.startswith(("^", r"\?"))]
    by_letter: dict[str, list[str]] = {}
    other: list[str] = []
    for phrase in (a for p in patterns if p not in anchored for a in _alternatives(p)):
        if phrase[:1].isalpha() and phrase[1:2] not in ("?", "*", "+", "{"):
            by_letter.setdefault(phrase[0], []).append(phrase[1:])
        else:
            other.append(phrase)
    phrases = [f"{letter}(?:{'|'.join(rests)})" for letter, rests in sorted(by_letter.items())] + other
    return re.compile("|".join([*anchored, *([rf"\b(?:{'|'.join(phrases)})(?!\w)"] if phrases else [])]))


_COMPILED = {intent: _compile(patterns) for intent, patterns in _PATTERNS.items()}
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+[,:]?)+\s*")


@lru_cache(maxsize=4096)
def detect(text: str) -> tuple[Intent, ...]:
    """Every intent whose phrases occur in ``text`` (already lower-cased), in precedence order."""
    text = _LEADING_MENTIONS.sub("", text)
    return tuple(intent for intent in PRECEDENCE if _COMPILED[intent].search(text))


def primary(intents: tuple[Intent, ...]) -> Intent:
    """The intent that decides how the case is handled; ``OTHER`` when no rule matched."""
    return intents[0] if intents else Intent.OTHER
