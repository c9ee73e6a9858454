"""Bible facts from the screenplay's own words: a character's introduction and pronouns, a
place's first description.

A screenplay introduces a character once, `NORA VANCE (late 20s, cropped silver hair, orange work
jacket)`: each comma-separated item becomes one field (age, hair, a garment with its colour, an
accessory, notes). An item that says what the character is doing or holding in that moment
('holding a bag of oranges') is no fact of the bible: it stays in the action of that shot. Gender
comes from a title (Mrs., Mr., 先生) or the pronouns of the action around the character (she/her,
he/him, 她/他) where they are the only one named.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..core.models import AgeBand, Character, Garment, Gender

COLOURS = (
    "black white grey gray silver charcoal red crimson maroon burgundy orange amber yellow mustard "
    "gold golden green olive teal turquoise cyan blue navy denim purple violet lavender pink magenta "
    "brown tan beige cream khaki blonde blond auburn ginger copper platinum"
).split()
CJK_COLOURS = "藏青 咖啡 米色 黑 白 灰 银 红 橙 橘 黄 金 绿 青 蓝 紫 粉 棕 褐".split()
GARMENTS = (
    "jacket coat hoodie sweater jumper shirt t-shirt tshirt tee blouse dress suit blazer cardigan vest "
    "uniform top parka windbreaker scrubs gown robe overalls sweatshirt tracksuit trenchcoat peacoat "
    "raincoat oilskin kimono qipao cheongsam apron jeans trousers pants skirt shorts leggings slacks "
    "chinos headscarf hijab turban bandana hat cap beanie beret boots sneakers shoes"
).split()
CJK_GARMENTS = "连衣裙 夹克 外套 大衣 雨衣 衬衫 卫衣 毛衣 T恤 西装 校服 制服 风衣 上衣 旗袍 背心 牛仔裤 裤 裙 头巾 帽 鞋 靴".split()
ACCESSORIES = (
    "glasses spectacles eyeglasses sunglasses headphones earphones headset chain necklace pendant "
    "watch earrings earring ring bracelet scarf bag backpack satchel badge lanyard cane"
).split()
CJK_ACCESSORIES = "眼镜 耳机 项链 手表 耳环 手镯 围巾 背包 拐杖".split()
HAIR = ("hair haired braid braids ponytail bun curls afro bob mohawk bald shaved dreadlocks locks "
        "buzzcut").split()
CJK_HAIR = "发 光头 马尾 辫".split()
FACE = "face freckled freckles beard bearded moustache mustache stubble scar eyes wrinkled".split()
CJK_FACE = "脸 胡 雀斑 疤 眼睛".split()
SKIN = ("skin", "skinned", "complexion")
CJK_SKIN = ("皮肤", "肤")
BUILD = ("broad burly stocky heavyset muscular bulky slim slender thin petite lanky skinny wiry tall "
         "short plump athletic").split()
CJK_BUILD = "魁梧 壮 瘦 苗条 高个 矮".split()
# An item of the introduction that is a moment, not a look: it stays in the shot's action.
MOMENT = re.compile(
    r"^(?:\w+ing\s+(?:a|an|the|his|her|their|some|two|three|\d+)\b"
    r"|(?:holding|carrying|clutching|gripping|wielding|dragging|pushing|pulling|eating|drinking|smoking)\b"
    r"|with (?:a|an|the|his|her|their) .+ in (?:hand|his|her|their)"
    r"|(?:soaked|drenched|wet|frozen|chilled) to the (?:skin|bone))|正在|手里|拿着|抱着|提着",
    re.IGNORECASE,
)
FEMALE_WORDS = re.compile(r"\b(?:she|her|hers|herself|woman|girl|lady|mother|mom|grandmother|wife|sister|daughter)\b"
                          r"|她|女|妈|奶奶|姐|妹|阿姨|太太", re.IGNORECASE)
MALE_WORDS = re.compile(r"\b(?:he|him|his|himself|man|boy|father|dad|grandfather|husband|brother|son)\b"
                        r"|他|男|爸|爷爷|哥|弟|叔|先生", re.IGNORECASE)
FEMALE_TITLES = re.compile(r"^(?:MRS|MS|MISS|MADAM|LADY|AUNT|GRANDMA|GRANNY|SISTER|MOTHER|MOM)\b\.?"
                           r"|女士|太太|小姐|阿姨|奶奶|大妈|母亲|妈|姐|妹|婆|娘", re.IGNORECASE)
MALE_TITLES = re.compile(r"^(?:MR|SIR|LORD|UNCLE|GRANDPA|FATHER|BROTHER|DAD)\b\.?|先生|叔|爷爷|大爷|父亲|爸|哥|弟",
                         re.IGNORECASE)
BANDS = {
    AgeBand.CHILD: ("child", "kid", "toddler", "little", "小孩", "孩子", "儿童"),
    AgeBand.TEEN: ("teen", "teenage", "teenager", "adolescent", "少年", "少女"),
    AgeBand.ELDER: ("elderly", "old", "aged", "老人", "年迈", "老年"),
    AgeBand.MIDDLE_AGED: ("middle-aged", "中年"),
}
DECADE = re.compile(r"^(?:(early|mid|late)[- ]?)?(\d)0s$", re.IGNORECASE)
YEARS = re.compile(r"^(\d{1,3})(?:\s*(?:years? old|yo|y/o))?$|^(\d{1,3})\s*岁$", re.IGNORECASE)
CJK_DECADE = re.compile(r"^([二三四五六七八九])十(?:多|来|几)岁")
CJK_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CJK_YEARS = re.compile(r"^([一二两三四五六七八九]?十[一二三四五六七八九]?|[一二两三四五六七八九])岁")


def cjk_number(text: str) -> int:
    """'十九' -> 19, '二十五' -> 25, '七' -> 7 (one to ninety-nine)."""
    tens, _, ones = text.partition("十")
    if not _:
        return CJK_DIGITS[text]
    return CJK_DIGITS.get(tens, 1) * 10 + CJK_DIGITS.get(ones, 0)
WITHIN_DECADE = {"early": 2, "mid": 5, "late": 8, None: 5}


def _names(text: str, words: list[str] | tuple[str, ...], cjk: list[str] | tuple[str, ...]) -> str | None:
    """The first of the words the text names (English as whole words, a plural too; Chinese
    anywhere, having no spaces), else None."""
    lower = text.lower()
    for word in words:
        if re.search(rf"(?<![\w-]){re.escape(word)}(?:e?s)?(?![\w-])", lower):
            return word
    return next((word for word in cjk if word in text), None)


def split_items(introduction: str) -> list[str]:
    return [item.strip(" .。") for item in re.split(r"[,，;；、]", introduction) if item.strip(" .。")]


def is_moment(item: str) -> bool:
    return bool(MOMENT.search(item.strip()))


def age_of(item: str) -> tuple[int | None, AgeBand | None] | None:
    """(age, band) from '19', 'late 20s', '60s', '十九岁', '二十多岁', 'elderly'; None when the item
    says nothing about age."""
    item = item.strip()
    if match := DECADE.match(item):
        return int(match.group(2)) * 10 + WITHIN_DECADE[match.group(1) and match.group(1).lower()], None
    if match := YEARS.match(item):
        return int(match.group(1) or match.group(2)), None
    if match := CJK_DECADE.match(item):
        return CJK_DIGITS[match.group(1)] * 10 + 5, None
    if match := CJK_YEARS.match(item):
        return cjk_number(match.group(1)), None
    for band, words in BANDS.items():
        if _names(item, [w for w in words if w.isascii()], [w for w in words if not w.isascii()]):
            return None, band
    return None


def garment(item: str) -> Garment | None:
    """'oversized orange work jacket' -> Garment(item='work jacket', colour='orange', details='oversized')."""
    if not (_names(item, GARMENTS, CJK_GARMENTS)):
        return None
    lower = item.lower()
    colour = next((c for c in COLOURS if re.search(rf"\b{c}\b", lower)), None)
    if colour is None:
        colour = next((c for c in CJK_COLOURS if c in item), None)
    if colour is None or not colour.isascii():
        return Garment(item=item, colour=colour)
    details, noun = re.split(rf"\b{colour}\b", item, maxsplit=1, flags=re.IGNORECASE)
    if not noun.strip():  # 'a jacket, orange' is rare; keep the words as they are
        return Garment(item=item, colour=colour)
    return Garment(item=noun.strip(), colour=colour, details=details.strip())


def fill_from_introduction(character: Character, introduction: str) -> None:
    """Set the character's empty fields from the items of their introduction."""
    notes: list[str] = []
    for item in split_items(introduction):
        if is_moment(item):
            continue
        if (age := age_of(item)) is not None:
            years, band = age
            if character.age is None and years is not None:
                character.age = years
            if character.age_band is None and band is not None:
                character.age_band = band
            continue
        if character.gender is None and (gender := gender_of_words(item)):
            character.gender = gender
            if re.fullmatch(r"(?:a |an )?(?:young |old )?(?:woman|man|girl|boy|女人|男人)", item, re.IGNORECASE):
                continue
        if _names(item, HAIR, CJK_HAIR):
            character.hair = character.hair or item
        elif _names(item, SKIN, CJK_SKIN):
            character.skin = character.skin or re.sub(r"\s*(?:skin(?:ned)?|complexion)\b", "", item).strip()
        elif (worn := garment(item)) is not None:
            character.wardrobe.append(worn)
        elif _names(item, ACCESSORIES, CJK_ACCESSORIES):
            character.accessories.append(item)
        elif _names(item, FACE, CJK_FACE):
            character.face = character.face or item
        elif _names(item, BUILD, CJK_BUILD):
            character.build = character.build or item
        else:
            notes.append(item)
    if notes and not character.notes:
        character.notes = ", ".join(notes)


def gender_of_words(text: str) -> Gender | None:
    female, male = len(FEMALE_WORDS.findall(text)), len(MALE_WORDS.findall(text))
    if female > male:
        return Gender.FEMALE
    return Gender.MALE if male > female else None


def gender_of_title(name: str) -> Gender | None:
    if FEMALE_TITLES.search(name):
        return Gender.FEMALE
    return Gender.MALE if MALE_TITLES.search(name) else None


# A subject pronoun says most about who it stands for; an object pronoun in a sentence naming one
# person is mostly somebody else ("Nora reaches him").
PRONOUN_WEIGHTS = {"she": 2, "he": 2, "她": 2, "他": 2, "her": 1, "hers": 1, "herself": 1, "his": 1,
                   "himself": 1, "him": 0}
# Chinese 她/他 are subject and object alike: only a clause's first word or a possessive (她的) counts.
PRONOUNS = re.compile(r"\b(?:she|he|her|hers|herself|his|himself|him)\b|(?:^|(?<=[，,；;：:]))[她他]|[她他](?=的)",
                      re.IGNORECASE)
ANY_PRONOUN = re.compile(r"\b(?:she|he|her|hers|herself|his|himself|him|they|them|their)\b|她|他", re.IGNORECASE)
FEMININE = {"she", "her", "hers", "herself", "她"}
FACIAL_HAIR = re.compile(r"\b(?:beard|bearded|moustache|mustache|stubble|goatee)\b|胡", re.IGNORECASE)


def fill_gender(character: Character, actions: list[str], named_in: Callable[[str], list[str]]) -> None:
    """A title in the name, else the pronouns of the action sentences about this character alone:
    those that name them and nobody else, and the unnamed sentences after one in the same
    paragraph ('Nora freezes. She drops it.'). A sentence naming two people is ambiguous. Where
    neither says, a beard in the face reads as a man's."""
    if character.gender is not None:
        return
    for name in (character.name, *character.aliases):
        if gender := gender_of_title(name):
            character.gender = gender
            return
    score = {Gender.FEMALE: 0, Gender.MALE: 0}
    for paragraph in actions:
        about: list[str] = []
        for sentence in re.split(r"(?<=[.!?。！？])\s+|(?<=[。！？])", paragraph):
            named = named_in(sentence)
            about = named or about
            if about == [character.id]:
                for pronoun in PRONOUNS.findall(sentence):
                    word = pronoun.lower()
                    score[Gender.FEMALE if word in FEMININE else Gender.MALE] += PRONOUN_WEIGHTS[word]
    if score[Gender.FEMALE] != score[Gender.MALE]:
        character.gender = max(score, key=score.get)
    elif FACIAL_HAIR.search(character.face):
        character.gender = Gender.MALE


def trailing_look(text: str, end: int, is_name: Callable[[str], bool]) -> tuple[list[str], int]:
    """The look written after an introduction's parentheses, up to the end of its sentence:
    'NELL (34), yellow oilskin, hair scraped back, writes in a logbook.' -> (['yellow oilskin',
    'hair scraped back'], the index of the comma before 'writes'). The last item is what the
    character does (or, at a sentence's end, a moment), so it is never taken; ([], end) when no
    list follows, or when it names others ('JONAS (30s), KAI (30s) gather.', 'TEO (30s), Lena, Kai
    gather.': `is_name` tells a character's name, in any case)."""
    rest = text[end:]
    if rest.lstrip()[:1] not in (",", "，"):
        return [], end
    stop = re.search(r"[.!?。！？](?:\s|$)|\n", rest)
    sentence = rest[: stop.start() if stop else len(rest)]
    last = max(sentence.rfind(","), sentence.rfind("，"))
    first = min(i for i in (sentence.find(","), sentence.find("，")) if i != -1)
    items = split_items(sentence[first + 1: last])
    if last == first or re.search(r"[(（]", sentence) or any(is_name(item) for item in items):
        return [], end
    return items, end + last


def without_introductions(text: str, is_character: Callable[[str], bool], is_name: Callable[[str], bool]) -> str:
    """The action with each introduction's look taken out, its moments kept:
    'MRS. OKAFOR (60s, holding a bag of oranges) leans out.' -> 'MRS. OKAFOR, holding a bag of
    oranges, leans out.', and 'NELL (34), yellow oilskin, writes.' -> 'NELL, writes.' The look
    lives in the bible; the action says what happens. `is_character`: an introduction's name
    (before its parentheses); `is_name`: any character's name, in any case."""
    parts, done = [], 0
    for match in re.finditer(r"([^\W\d_][\w'.\- ]*?[\w.])\s*[(（]([^()（）]+)[)）]", text):
        if not is_character(match.group(1)):
            continue
        after, resume = trailing_look(text, match.end(), is_name)
        moments = [item for item in [*split_items(match.group(2)), *after] if is_moment(item)]
        parts.append(text[done: match.start()] + match.group(1) + (", " + ", ".join(moments) + "," if moments else ""))
        done = resume
    stripped = "".join(parts) + text[done:]
    return re.sub(r",\s*([.!?。])", r"\1", re.sub(r",\s*,", ",", stripped))


def place_description(paragraphs: list[str], named_in: Callable[[str], list[str]]) -> tuple[str, int | None]:
    """A place described by its first scene: the sentences of the first action paragraph that
    has any naming no character, by name or pronoun ('A narrow kitchen lit by a single bulb.'),
    and that paragraph's index; ('', None) when every sentence is about a person."""
    for index, paragraph in enumerate(paragraphs):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", paragraph) if s.strip()]
        about_place = [s for s in sentences if not named_in(s) and not ANY_PRONOUN.search(s)]
        if about_place:
            return " ".join(about_place), index
    return "", None


TITLES = re.compile(r"^(?:MRS|MR|MS|MISS|DR|SIR|LADY|AUNT|UNCLE)\.?$", re.IGNORECASE)


def given_names(characters: list[Character], actions: list[str]) -> dict[str, str]:
    """Character id -> the first word of a full name ('JUNE' for 'JUNE PARK'), as the action
    calls them ('June climbs.'); only where no other character shares it, it is no title, and the
    action never writes it in lower case (then it is a word, as in 'RADIO VOICE': 'the radio')."""
    firsts: dict[str, list[str]] = {}
    taken = {n.upper() for c in characters for n in (c.name, *c.aliases)}
    text = "\n".join(actions)
    for character in characters:
        words = character.name.split()
        if len(words) < 2 or TITLES.match(words[0]) or words[0].upper() in taken:
            continue
        if words[0].isascii() and re.search(rf"(?<![\w-]){re.escape(words[0].lower())}(?![\w-])", text):
            continue
        firsts.setdefault(words[0].upper(), []).append(character.id)
    return {ids[0]: name for name, ids in firsts.items() if len(ids) == 1}


FEMALE_PRONOUNS = re.compile(r"\b(?:she|her|hers|herself)\b|她", re.IGNORECASE)
MALE_PRONOUNS = re.compile(r"\b(?:he|him|his|himself)\b|他", re.IGNORECASE)


def pronoun_referents(text: str, named: list[str], present: list[str], genders: dict[str, Gender | None]) -> list[str]:
    """Characters an action refers to by pronoun only: 'Nora reaches him' in a scene whose one
    man is Eli means Eli. A pronoun whose gender matches a character the action names is theirs;
    one that could be two people present is ambiguous and adds nobody."""
    found = []
    for gender, pattern in ((Gender.FEMALE, FEMALE_PRONOUNS), (Gender.MALE, MALE_PRONOUNS)):
        if not pattern.search(text) or any(genders.get(c) == gender for c in named):
            continue
        candidates = [c for c in present if genders.get(c) == gender]
        if len(candidates) == 1:
            found.append(candidates[0])
    return found
