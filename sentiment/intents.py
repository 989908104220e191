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

Look-alikes are part of the rules, and tests hold both sides: "by accident", "an accident waiting
to happen", a glue gun, the police box on a T-shirt or a payment "flagged as fraudulent" are not
emergencies; "thanks for the help!" is not a cry for help. Spam is broadcasts and promotions
(retweets, "click here", codes, giveaways, "earn $500"): a link alone is not spam, so a customer
who pastes a link to their order is still a customer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

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
        # safety: fire, injury, hospital
        r"caught fire|on fire|fire hazard|smoke (?:came|coming)|explod\w*|"
        r"(?:is|was|started|it's|its) smoking(?! (?:allowed|permitted|area|room|ban|section|policy))|"
        r"burn(?:ed|t|s)|electric shock|injur\w*|(?:got|was|were|been|badly|seriously) hurt|concussion|"
        r"(?:is|was|started|still|badly|heavily) bleeding|bleeding (?:badly|heavily|from)|"
        r"(?:in|to|at|from) (?:the )?(?:hospital|er|a&e|emergency room|emergency department)|hospitali[sz]ed|"
        r"ambulance|paramedics?|medical emergency|(?:it'?s|this is) an emergency|poison\w*|"
        r"unsafe|dangerous|gas leak|choking",
        # safety: accidents ("by accident" and "an accident waiting to happen" are not one)
        r"accident(?<!by accident)(?<!par accident)(?<!happy accident)s?(?! waiting to happen)|car crash|"
        r"(?:had|in|was in|been in) a crash|"
        r"(?:car|bus|train|taxi|cab|driver|van|truck) crashed|crashed (?:the|his|her|their|my) car|"
        r"hit by (?:a|the|your|their) (?:\w+ )?(?:car|driver|bus|truck|van|vehicle|bike|scooter)|"
        r"ran over (?:me|my|him|her|us|them)|ran me over|knocked (?:me )?(?:down|over) by",
        # safety: assault, harassment, weapons, threats, the police
        r"assault\w*|sexual(?:ly)? (?:assault\w*|harass\w*|abuse\w*|misconduct)|rap(?:ed|ist|ists)|"
        r"(?:a|the|of|attempted|to) rape|grop(?:e|ed|ing)|molest(?:ed|ing|ation|er|ers)|inappropriately touch\w*|"
        r"touched me inappropriately|harass\w*|"
        r"stalk(?:ed|ing|er)|followed me home|"
        r"at (?:gun|knife)point|(?:a|his|her|their|with) (?:gun|pistol|firearm)s?|"
        r"(?:pulled|pointed|waved|waving|brandish\w*|drew|had|has|carrying|holding|showed|threatened me with) "
        r"(?:a |an |his |her )?(?:gun|pistol|firearm|weapon|knife|blade)s?|"
        r"(?:gun|knife|pistol)s? (?:at|to) (?:me|my|us|him|her)|"
        r"threaten(?:ed|ing|s)? (?:me|us|my|him|her|to (?:kill|hurt|harm|beat|hit|attack|shoot|stab|rape))|"
        r"death threats?|threatening (?:behaviou?r|messages?|calls?|texts?|language|emails?)|"
        r"(?:made|making|received|got|sent) (?:me |us )?(?:a )?threats?|threats? (?:to|against) (?:me|us|my)|"
        r"(?:call|called|calling|phone|phoned|contact|contacted|told|involve|involved|get|got|getting) (?:the )?"
        r"(?:police|cops)|to the police|police (?:report|case|officers?|were|came|arrived|station|involved|"
        r"complaint|reference)|crime (?:number|reference)",
        r"incendi\w*|fumo|esplos\w*|bruciat\w*|scossa|ferit[oa]|ospedale|pronto soccorso|ambulanza|"
        r"intossica\w*|pericolos\w*|(?:ho|abbiamo|hanno) avuto un incidente|incidente (?:stradale|in auto)|"
        r"aggredit[oa]|aggressione|molestie|molestat[oa]|violenza sessuale|stupr\w*|pistola|armat[oi] di|"
        r"mi (?:ha|hanno) minacciat[oa]|minacce di morte|minacciat[oa] con",
        r"incendio|humo|explot\w*|quemad\w*|herid[oa]|hospital|(?:en|a|las) urgencias|ambulancia|intoxica\w*|"
        r"peligros\w*|"
        r"accidente(?<!por accidente)|agredid[oa]|agresión|acoso|acosad[oa]|abuso sexual|violad[oa]|pistola|"
        r"me amenaz\w*|amenazas de muerte",
        r"incendie|fumée|explos\w*|brûl\w*|blessé\w*|hôpital|aux urgences|dangereu\w*|agressé\w*|agression|"
        r"harcel\w*|harcèlement|attouchements?|violée?|(?:m'a|m'ont|nous a|nous ont) menacé\w*|menaces de mort|"
        r"(?:appelé|appeler|prévenu|prévenir) la police|au commissariat(?! à)|gendarmerie",
        r"brennt|in brand|rauch|explodiert|verbrannt|verletzt|krankenhaus|notaufnahme|krankenwagen|"
        r"rettungswagen|vergiftung|gefährlich|unfall|angegriffen|überfallen|übergriff(?:e|en)?|"
        r"sexuell\w* belästig\w*|(?:wurde|werde|wurden) (?:\w+ )?belästigt|"
        r"vergewaltig\w*|waffen?|pistole|mich (?:\w+ )?bedroht|morddrohung\w*",
        r"incêndio|fumaça|explodiu|queimad\w*|ferid[oa]|perigos\w*|pronto[- ]socorro|ambulância|"
        r"acidente(?<!por acidente)|agredid[oa]|agressão|assédio|assediad[oa]|abuso sexual|estupr\w*|revólver|"
        r"me ameaç\w*|ameaças de morte|boletim de ocorrência",
        # fraud and account takeover; a payment "flagged as fraudulent" is the customer's own, blocked
        r"fraud(?<!flagged as fraud)(?<!marked as fraud)(?<!flagged for fraud)(?<!detected as fraud)"
        r"(?<!declined as fraud)(?<!blocked as fraud)(?<!as potentially fraud)(?<!accused of fraud)"
        r"(?<!accusing me of fraud)(?<!suspected fraud)\w*|"
        r"scam(?:med)?|stolen|hacked|unauthori[sz]ed|identity theft|phishing|charged twice|double charged",
        r"truff\w*|frode|rubat\w*|hackerat\w*|addebit\w* non autorizzat\w*|clonat\w*|addebitat\w* due volte",
        r"fraude|estafa\w*|robad\w*|hackead\w*|suplantación|cobrad\w* dos veces",
        r"arnaque|escroquerie|piraté|volé|usurpation|débité deux fois",
        r"betrug|betrüger\w*|gehackt|gestohlen|abgebucht ohne|doppelt abgebucht",
        r"golpe|fraude|roubad\w*|hackead\w*|clonad\w*|cobrad\w* duas vezes",
    ),
    Intent.REFUND: (
        r"refund\w*|money back|reimburs\w*|chargeback|return(?:ing)? (?:it|the|my|this)|send (?:it|them) back|"
        r"compensat\w*|(?:an|the) exchange|exchange (?:it|them|this|the|my)|(?:a|the) replacement|replace (?:it|them)",
        r"rimbors\w*|soldi indietro|indietro i (?:miei )?soldi|reso|restituzione|restituire|risarciment\w*|"
        r"sostituzione|sostituire (?:il|la|lo)",
        r"reembols\w*|devoluci[oó]n|devolver|mi dinero|compensaci[oó]n|reemplazo|sustitución",
        r"rembours\w*|retour(?:ner)?|renvoyer|mon argent|dédommag\w*|(?:un |l')échange|échanger|"
        r"(?:un|le|mon) remplacement",
        r"erstatt\w*|rückerstatt\w*|geld zurück|mein geld|rücksendung|zurückschicken|umtausch\w*|entschädig\w*|"
        r"ersatz(?:gerät|lieferung)?",
        r"reembols\w*|devolução|devolver|meu dinheiro|estorno|ressarc\w*|substituição|"
        r"(?:uma|a|fazer a|fazer uma|quero a|quero uma|solicitar a|solicitei a) troca|"
        r"trocar (?:o|a) (?:produto|pedido|item|mercadoria)",
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
        r"tried (?:everything|again|several|many|multiple|different|\w+ times)|please help|"
        r"help me(?! (?:with|to|find|choose|understand|decide|pick|know))|help!|help please|"
        r"need (?:some |urgent |your )?help|someone help|"
        r"damaged|defective|faulty|(?:arrived|came|was) (?:broken|smashed|cracked|torn|open(?:ed)?|empty)|"
        r"freez\w*|crash\w*|slow ?down|so slow|too slow|skipping|drain\w*|dead end|(?:is|went|still) down|outage|"
        r"delay(?:ed|s)?|messed up|screwed up|sux|sucks?|grr+|paralys\w*|bricked|not happy|unhappy|not keen|"
        r"suffer\w*|disgrace\w*|killing my|(?:problems?|issues?)"
        rf"{_SOLVED}|bug(?:s|gy)?|sort (?:it|this|your \w+(?: \w+)?) out|fix (?:it|this|your)",
        r"vergogn\w*|non funziona\w*|non va|mai arrivat\w*|non (?:è )?(?:ancora )?arrivat\w*|ancora (?:in attesa|"
        r"aspetto|niente)|"
        r"nessuno risponde|non rispond\w*|aspetto da|sto aspettando|in attesa da|pessim\w*|schif\w*|inaccettabil\w*|"
        r"ridicol\w*|delus\w*|reclam\w*|disservizio|guast\w*|rott[oa]|bloccat\w*|si blocca|non riesco|non mi fa|ladri|"
        r"scandal\w*|aiuto!|^aiuto|aiutatemi|aiutami|aiutateci|(?:ho bisogno|serve|chiedo) (?:di |del vostro )?aiuto|"
        r"ho provato|lentissim\w*|ritardo|danneggiat\w*|difettos\w*|"
        rf"problem[ai]{_SOLVED}",
        r"vergüenza|no funciona|nunca (?:llegó|llego)|no (?:ha )?llegado|nadie (?:responde|contesta)|sigo esperando|"
        r"llevo \w+ (?:días|semanas) esperando|pésim\w*|pesim\w*|inaceptable|reclamaci\w*|queja\w*|estropead\w*|"
        r"roto|rota|"
        r"ayuda!|^ayuda|ayúdenme|ayudenme|ayúdame|ayudame|ayudadme|(?:necesito|pido) (?:su |tu |vuestra )?ayuda|"
        r"no puedo|no me deja|se cuelga|retraso|dañad[oa]s?|defectuos[oa]s?|"
        rf"problemas?{_SOLVED}",
        r"honte|ne fonctionne pas|marche pas|jamais (?:reçu|arrivé)|toujours pas|personne ne répond|j'attends|"
        r"inadmissible|"
        r"inacceptable|lamentable|déçu\w*|réclamation|plainte|en panne|cassé\w*|aidez-moi|à l'aide|au secours|"
        r"besoin d'aide|je n'arrive pas|impossible de|plante|problèmes?|retard|abîmé\w*|endommagé\w*|défectueu\w*",
        r"schande|funktioniert nicht|geht nicht|nie angekommen|nicht angekommen|immer noch nicht|"
        r"warte (?:schon |bereits |jetzt )?seit|beschädigt|defekt|"
        r"niemand antwortet|"
        r"keine antwort|unverschämt\w*|enttäusch\w*|beschwerde|kaputt|frechheit|katastroph\w*|hilfe!|^hilfe|"
        r"helft mir|helfen sie mir|brauche (?:dringend )?hilfe|kann nicht|"
        r"stürzt ab|verspätung|"
        rf"problem(?:e|en)?{_SOLVED}",
        r"vergonha|não funciona|nao funciona|nunca chegou|não chegou|nao chegou|ainda (?:não|nao|estou esperando)|"
        r"ninguém responde|ninguem responde|esperando há|péssim\w*|pessim\w*|absurdo|reclama\w*|quebrad\w*|descaso|"
        r"ajuda!|^ajuda|me ajudem|preciso de ajuda|não consigo|nao consigo|trava|não deixa|atraso|"
        r"danificad[oa]s?|defeituos[oa]s?|avariad[oa]s?|"
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
        r"grazie|ringrazi\w*|complimenti|fantastic\w*|ottim\w*|eccellent\w*|bravissim\w*|perfett\w*|gentilissim\w*|"
        r"servizio top",
        r"gracias|agradec\w*|genial|excelente|enhorabuena|felicidades|increíble|maravillos\w*",
        r"merci|remerci\w*|génial|excellent\w*|bravo|parfait\w*|formidable|au top",
        r"danke|vielen dank|super service|toll|klasse|hervorragend|perfekt|großartig",
        r"obrigad\w*|agradeç\w*|valeu|excelente|parabéns|perfeit\w*|ótim\w*|otim\w*",
    ),
    Intent.SPAM: (
        r"follow (?:me|us|back|for follow)"
        r"(?! by |(?: back)? (?:so|and|to) (?:i|we|you) (?:can |could )?(?:dm|message|send|contact|talk))|"
        r"f4f|click (?:here|the link|below)|"
        r"check (?:out )?(?:my|our) (?:profile|bio|page|channel|website|site|store|shop)|"
        r"free (?:followers|iphone|gift|money|crypto)|giveaways?|promo code|discount code|use (?:my |our )?code|"
        r"\d+% off|earn \$?\d+|earn (?:money|cash)|make money|passive income|work from home|"
        r"win an? (?:free )?\w+|enter (?:now|to win|here)|chance to win|(?:rt|retweet|like|share) (?:to win|& win)|"
        r"(?:follow|like) (?:&|and) (?:rt|retweet|share)|limited (?:time )?offer|shop now|buy now|"
        r"sign up (?:now|today)|"
        r"crypto|bitcoin|forex|onlyfans|dm (?:me |us )?for (?:promo|collab)|link in (?:bio|profile)|subscribe to my|"
        r"^rt @user",
        r"seguimi|seguitemi|seguici|guadagn\w* da casa|clicca qui|codice sconto|vinci (?:un|una)|concorso a premi|"
        r"sígueme|sigueme|síguenos|haz clic aquí|código de descuento|gana (?:un|una|dinero)|sorteo|"
        r"suivez-moi|suivez-nous|cliquez ici|code promo|gagnez|jeu concours|"
        r"folgt mir|folgt uns|hier klicken|rabattcode|gutscheincode|gewinnspiel|"
        r"me segue|sigam|siga-nos|clique aqui|cupom|ganhe (?:um|uma|dinheiro)|sorteio",
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


_LEADING_GROUP = re.compile(r"\(\?:([^()\\\[]*)\)(?![?*+{])")


def _expand(phrase: str) -> list[str]:
    """``(?:in|to) the`` as ``in the`` and ``to the``, so that each can be grouped by its first letter."""
    found = _LEADING_GROUP.match(phrase)
    if not found:
        return [phrase]
    rest = phrase[found.end() :]
    return [e for choice in found.group(1).split("|") for e in _expand(choice + rest)]


class _Rule(NamedTuple):
    """An intent's patterns, split by how they are cheapest to look for."""

    question_mark: bool
    """A literal ``?`` anywhere: ``in``, not a regex."""
    start: re.Pattern[str] | None
    """Patterns anchored at the start of the text, tried there only."""
    phrases: re.Pattern[str] | None
    """Everything else, searched."""

    def search(self, text: str) -> bool:
        return (
            (self.question_mark and "?" in text)
            or (self.start is not None and self.start.match(text) is not None)
            or (self.phrases is not None and self.phrases.search(text) is not None)
        )


def _compile(patterns: tuple[str, ...]) -> _Rule:
    """One rule per intent over lower-cased text, phrases grouped by their first letter.

    Grouping is for speed only (it halves the time: at each word start the engine tries a few
    dozen first letters instead of hundreds of phrases), and matches exactly the same texts.
    No IGNORECASE, which is slower: the text is lower-cased first. Every phrase starts with a
    letter or a group, so ``\\b`` before it means "no letter or digit just before".
    """
    starts = [p[1:] for p in patterns if p.startswith("^")]
    by_letter: dict[str, list[str]] = {}
    other: list[str] = []
    rest = [p for p in patterns if not p.startswith(("^", r"\?"))]
    for phrase in (e for p in rest for a in _alternatives(p) for e in _expand(a)):
        if phrase[:1].isalpha() and phrase[1:2] not in ("?", "*", "+", "{"):
            by_letter.setdefault(phrase[0], []).append(phrase[1:])
        else:
            other.append(phrase)
    phrases = [f"{letter}(?:{'|'.join(rests)})" for letter, rests in sorted(by_letter.items())] + other
    return _Rule(
        r"\?" in patterns,
        re.compile("|".join(starts)) if starts else None,
        re.compile(rf"\b(?:{'|'.join(phrases)})(?!\w)") if phrases else None,
    )


_COMPILED = {intent: _compile(patterns) for intent, patterns in _PATTERNS.items()}
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+[,:]?)+\s*")
_THANKS = (
    r"thanks?|thank you|thx|ty|cheers|grazie|ringrazio|gracias|agradezco|merci|remercie|danke|dankeschön|dank|"
    r"obrigad[oa]s?|valeu|agradeço"
)
_HELP = (
    r"help|assistance|support|aiuto|assistenza|supporto|ayuda|apoyo|asistencia|aide|soutien|hilfe|"
    r"unterstützung|ajuda|apoio|assistência|suporte"
)
_FILLER = (
    r"for|the|your|all|of|so|much|very|a|lot|again|quick|fast|great|kind|prompt|super|"
    r"per|il|la|l|lo|vostro|vostra|tuo|tua|mille|tanto|del|dell|della|grande|"
    r"por|el|su|tu|vuestra|vuestro|toda|todo|muchas|mil|de|"
    r"pour|le|votre|vos|ton|ta|beaucoup|du|"
    r"für|die|ihre|deine|eure|vielen|vielmals|schnelle|nette|tolle|"
    r"pela|pelo|o|sua|seu|vossa|muito|muita|da|do"
)
_THANKED_HELP = re.compile(
    rf"\b(?P<thanks>{_THANKS})(?:[ ,!]+(?:{_FILLER})\b)*(?:[ ,!']+\w+)?(?:[ ']+(?:{_FILLER})\b)*[ ']+"
    rf"(?:{_HELP})(?!\w)"
)
"""Thanks for help given ("thanks for the help!", "danke für die Hilfe", "obrigada pela ajuda"): the
help word goes, so it is not read as a cry for help; at most one word beside the usual small ones
may stand between, so "thanks, but I still need help" keeps its request."""
_HELP_STEMS = (
    "help",
    "assist",
    "asist",
    "support",
    "suport",
    "aiut",
    "ayud",
    "apoyo",
    "aide",
    "soutien",
    "hilfe",
    "unterst",
    "ajud",
    "apoio",
)
"""Substrings of every :data:`_HELP` word: a text with none of them (most texts) skips :data:`_THANKED_HELP`."""


@lru_cache(maxsize=4096)
def detect(text: str) -> tuple[Intent, ...]:
    """Every intent whose phrases occur in ``text`` (already lower-cased), in precedence order."""
    text = _LEADING_MENTIONS.sub("", text)
    if any(stem in text for stem in _HELP_STEMS):
        text = _THANKED_HELP.sub(r"\g<thanks>", text)
    return tuple(intent for intent in PRECEDENCE if _COMPILED[intent].search(text))


def primary(intents: tuple[Intent, ...]) -> Intent:
    """The intent that decides how the case is handled; ``OTHER`` when no rule matched."""
    return intents[0] if intents else Intent.OTHER
