"""Container names: Docker's validation and its adjective_surname names for unnamed containers."""

from __future__ import annotations

import random
import re

from ..errdefs import InvalidArgument

# The rule; Docker itself insists on two characters or more.
VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

ADJECTIVES = ("admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
              "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent",
              "condescending", "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted",
              "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
              "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted",
              "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
              "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving",
              "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
              "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless",
              "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
              "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty",
              "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful",
              "xenodochial", "youthful", "zealous", "zen")
SURNAMES = ("albattani", "allen", "almeida", "archimedes", "ardinghelli", "babbage", "banach", "bardeen",
            "bartik", "bassi", "bell", "benz", "bhabha", "blackburn", "bohr", "booth", "borg", "bose", "brahmagupta",
            "brown", "cannon", "carson", "cerf", "chandrasekhar", "clarke", "curie", "darwin", "davinci", "dijkstra",
            "driscoll", "easley", "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi",
            "feynman", "franklin", "gagarin", "galileo", "gauss", "goldberg", "goodall", "hamilton", "hawking",
            "heisenberg", "hertz", "hodgkin", "hopper", "hypatia", "jackson", "jang", "jennings", "johnson",
            "kalam", "kepler", "khorana", "knuth", "kowalevski", "lalande", "lamarr", "leakey", "lovelace",
            "lumiere", "mayer", "mccarthy", "mcclintock", "meitner", "mendel", "merkle", "montalcini", "moore",
            "morse", "napier", "newton", "nobel", "noether", "pascal", "pasteur", "payne", "perlman", "pike",
            "poincare", "ptolemy", "raman", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi",
            "stallman", "swanson", "tesla", "thompson", "torvalds", "turing", "varahamihira", "villani",
            "wescoff", "wilbur", "wiles", "williams", "wing", "wozniak", "wright", "yalow", "yonath")


def check(name: str) -> str:
    """Return the name without Docker's leading slash; InvalidArgument if it is not allowed."""
    if not VALID_NAME.match(name):
        raise InvalidArgument(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.lstrip("/")


def random_name(taken) -> str:
    for attempt in range(100):
        name = f"{random.choice(ADJECTIVES)}_{random.choice(SURNAMES)}"
        if attempt >= 10:
            name += str(random.randint(0, 99))
        if name not in taken:
            return name
    raise RuntimeError("could not find a free container name")
