"""Sentences for synthetic conversations: small hand-written templates and word lists per language.

The text only needs to be varied, speakable and sometimes a question (questions raise brows and end
with rising intonation); it is not meant to be a meaningful dialogue.
"""

from __future__ import annotations

import numpy as np

# Each language: templates with {slot} fields, word lists for the slots, questions, backchannels.
# Templates ending in "?" are questions.
# fmt: off
LANGUAGES: dict[str, dict] = {
    "en": {
        "statements": [
            "I think the {noun} was {adj} {time}.",
            "We {verb_past} to the {place} {time}.",
            "My {person} {verb_past} a {adj} {noun}.",
            "Honestly, the {noun} at the {place} is {adv} {adj}.",
            "So then {person_the} said the {noun} was {adj}.",
            "It was {adv} {adj}, but I liked the {noun} anyway.",
            "You know, I {verb_present} the {place} every {day}.",
            "That reminds me of the {noun} we saw {time}.",
            "Well, {person_the} wants to {verb_base} the {noun} {time}.",
            "I'm not sure, maybe the {noun} is {adj} after all.",
            "We should {verb_base} a {adj} {noun} for the {place}.",
            "The {place} was full of {adj} people {time}.",
        ],
        "questions": [
            "Did you {verb_base} the {noun} {time}?",
            "What do you think about the {adj} {noun}?",
            "Have you ever been to the {place}?",
            "Why would {person_the} {verb_base} a {noun}?",
            "Is the {noun} really that {adj}?",
            "Do you want to go to the {place} on {day}?",
            "Where did you put the {adj} {noun}?",
            "How was the {place} {time}?",
        ],
        "slots": {
            "noun": ["movie", "garden", "train", "coffee", "book", "concert", "weather", "project", "dinner",
                     "bicycle", "meeting", "window", "story", "market", "painting", "recipe", "game", "boat"],
            "adj": ["great", "strange", "boring", "beautiful", "expensive", "tiny", "loud", "perfect", "funny",
                    "difficult", "blue", "old", "fresh", "quiet", "amazing", "terrible"],
            "adv": ["really", "quite", "pretty", "surprisingly", "a bit", "totally", "rather"],
            "time": ["yesterday", "last week", "this morning", "on Sunday", "a while ago", "tonight",
                     "last summer", "the other day"],
            "place": ["beach", "museum", "station", "office", "park", "library", "kitchen", "airport",
                      "bakery", "river", "mountains", "city centre"],
            "person": ["brother", "sister", "neighbour", "friend", "boss", "cousin", "mother", "father"],
            "person_the": ["my brother", "the teacher", "our neighbour", "my friend", "the doctor", "Anna",
                           "Peter", "Maria", "Tom"],
            "verb_past": ["walked", "drove", "went", "bought", "painted", "found", "cooked", "borrowed"],
            "verb_present": ["visit", "love", "clean", "avoid", "remember", "walk past"],
            "verb_base": ["fix", "buy", "see", "try", "move", "check", "open", "book"],
            "day": ["Monday", "Friday", "weekend", "morning", "evening", "Saturday"],
        },
        "backchannels": ["mm-hm", "yeah", "right", "uh-huh", "okay", "I see", "oh", "sure", "mhm"],
    },
    "de": {
        "statements": [
            "Ich glaube, der {noun} war {time} sehr {adj}.",
            "Wir sind {time} in den {place} gegangen.",
            "Mein {person} findet den {noun} {adj}.",
            "Ehrlich gesagt war das {adv} {adj}.",
            "Dann haben wir {time} einen {noun} gekauft.",
        ],
        "questions": [
            "Hast du den {noun} {time} gesehen?",
            "Wie war es im {place}?",
            "Findest du den {noun} wirklich {adj}?",
            "Kommst du {time} mit in den {place}?",
        ],
        "slots": {
            "noun": ["Film", "Garten", "Zug", "Kaffee", "Kuchen", "Hund", "Computer", "Tisch", "Wagen"],
            "adj": ["gut", "schön", "seltsam", "teuer", "langweilig", "toll", "laut", "klein"],
            "adv": ["wirklich", "ziemlich", "total", "etwas"],
            "time": ["gestern", "heute", "am Sonntag", "letzte Woche", "morgen früh"],
            "place": ["Park", "Laden", "Wald", "Bahnhof", "Supermarkt"],
            "person": ["Bruder", "Freund", "Nachbar", "Vater", "Chef"],
        },
        "backchannels": ["ja", "genau", "mhm", "stimmt", "ach so"],
    },
    "es": {
        "statements": [
            "Creo que el {noun} era {adj} {time}.",
            "Fuimos al {place} {time}.",
            "Mi {person} compró un {noun} {adj}.",
            "La verdad, fue {adv} {adj}.",
            "Entonces vimos el {noun} en el {place}.",
        ],
        "questions": [
            "¿Viste el {noun} {time}?",
            "¿Qué tal el {place}?",
            "¿De verdad el {noun} es tan {adj}?",
            "¿Vienes al {place} {time}?",
        ],
        "slots": {
            "noun": ["libro", "coche", "perro", "concierto", "café", "partido", "jardín", "tren"],
            "adj": ["bonito", "raro", "caro", "aburrido", "genial", "pequeño", "ruidoso"],
            "adv": ["muy", "bastante", "un poco", "realmente"],
            "time": ["ayer", "hoy", "el domingo", "la semana pasada", "esta mañana"],
            "place": ["parque", "mercado", "museo", "cine", "centro"],
            "person": ["hermano", "amigo", "vecino", "padre", "jefe"],
        },
        "backchannels": ["sí", "claro", "vale", "ajá", "ya"],
    },
    "fr": {
        "statements": [
            "Je crois que le {noun} était {adj} {time}.",
            "Nous sommes allés au {place} {time}.",
            "Mon {person} a acheté un {noun} {adj}.",
            "Franchement, c'était {adv} {adj}.",
            "Alors on a vu le {noun} au {place}.",
        ],
        "questions": [
            "Tu as vu le {noun} {time}?",
            "Comment c'était au {place}?",
            "Le {noun} est vraiment si {adj}?",
            "Tu viens au {place} {time}?",
        ],
        "slots": {
            "noun": ["livre", "film", "jardin", "train", "café", "concert", "gâteau", "vélo"],
            "adj": ["beau", "bizarre", "cher", "génial", "petit", "bruyant", "ennuyeux"],
            "adv": ["très", "assez", "vraiment", "un peu"],
            "time": ["hier", "aujourd'hui", "dimanche", "la semaine dernière", "ce matin"],
            "place": ["parc", "marché", "musée", "cinéma", "bureau"],
            "person": ["frère", "ami", "voisin", "père", "patron"],
        },
        "backchannels": ["oui", "d'accord", "mhm", "ah bon", "voilà"],
    },
}
# fmt: on


def _fill(template: str, slots: dict[str, list[str]], rng: np.random.Generator) -> str:
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        words = slots[out[start + 1 : end]]
        out = out[:start] + words[int(rng.integers(len(words)))] + out[end + 1 :]
    return out


def make_sentence(language: str, rng: np.random.Generator, question_probability: float) -> tuple[str, bool]:
    """One sentence in ``language``; returns (text, is_question)."""
    lang = LANGUAGES[language]
    is_question = bool(rng.random() < question_probability)
    templates = lang["questions"] if is_question else lang["statements"]
    return _fill(templates[int(rng.integers(len(templates)))], lang["slots"], rng), is_question


def make_backchannel(language: str, rng: np.random.Generator) -> str:
    """A short listener token ("mm-hm", "yeah", "right", ...)."""
    words = LANGUAGES[language]["backchannels"]
    return words[int(rng.integers(len(words)))]
