"""``keras.preprocessing`` on chainrule: tf.keras 2's home of ``sequence.pad_sequences`` (Keras 3 keeps it in
``keras.utils``); its image and text utilities are not provided."""
from chainrule._unsupported import missing
from chainrule.keras.preprocessing import sequence

__all__ = ["sequence"]

__getattr__ = missing(__name__, "keras.preprocessing", {"image": "", "text": ""})
