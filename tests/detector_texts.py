"""Texts for the language detector's tests: each of 120 characters or more, the length
from which the detector is sure (charter.detectors.language.RELIABLE_CHARS)."""

FRENCH = ("Bonjour, je voudrais un remboursement pour ma commande de la semaine "
          "dernière : le colis est arrivé abîmé et incomplet.")
FRENCH_REPLY = ("Bien sûr, je vais vous aider avec votre remboursement. Pouvez-vous "
                "m'envoyer le numéro de commande et une photo du colis ?")
ENGLISH_REPLY = ("Sure, I can help you with your refund today. Could you send me the "
                 "order number and a photo of the damaged parcel, please?")
SPANISH = ("¿Dónde está la estación de tren más cercana? Tengo que llegar al "
           "aeropuerto antes de las ocho y no conozco bien la ciudad.")
GERMAN = ("Ich möchte meine Bestellung stornieren, bitte. Das Paket ist noch "
          "nicht verschickt worden und ich brauche es nicht mehr.")
ENGLISH = ("Could you tell me when my parcel will arrive? I ordered it two weeks "
           "ago and the tracking page has not changed since then.")
SPANISH_REPLY = ("La estación está a dos calles, junto a la plaza mayor. Desde allí "
                 "sale un tren directo al aeropuerto cada veinte minutos.")
TRANSLATE = ("Please translate 'where is the station, and how much is a ticket to the "
             "airport?' into German for my trip to Berlin next week.")
