from typing import Literal

EmoRequestModel = Literal["emo-v1"]

EMO_REQUEST_MODEL_VALUES: set[EmoRequestModel] = {
    "emo-v1",
}


def check_emo_request_model(value: str) -> EmoRequestModel:
    if value in EMO_REQUEST_MODEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EMO_REQUEST_MODEL_VALUES!r}")
