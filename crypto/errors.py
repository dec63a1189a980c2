"""The root of noticenet's exception hierarchy and the crypto errors.

Every error noticenet raises on bad input derives from `NoticenetError`, so a
caller can catch one type. Subpackages add their own branches (the protocol
errors live in `noticenet.protocol.errors`).
"""

from __future__ import annotations


class NoticenetError(Exception):
    """Base of every error noticenet raises deliberately."""


class CryptoError(NoticenetError):
    """A cryptographic check or operation failed."""


class BadSignature(CryptoError):
    """A signature does not verify under the expected key."""


class DecryptionFailed(CryptoError):
    """A ciphertext cannot be opened: wrong key, not a recipient, or tampered."""


class NotARecipient(DecryptionFailed):
    """This member holds no key that opens the body."""


class KeyFileError(CryptoError):
    """A key file is malformed, tampered with, or the passphrase is wrong."""


class ThresholdError(CryptoError):
    """A FROST threshold-signing or key-generation step failed."""


class BadShare(ThresholdError):
    """A participant's signature share or DKG share does not verify.

    `member` names the participant (its identifier) so the ceremony can say
    who sent it.
    """

    def __init__(self, member: int, message: str) -> None:
        super().__init__(f"participant {member}: {message}")
        self.member = member


class Equivocation(BadShare):
    """A DKG participant sent different round-one packages to different participants.

    `member` is the equivocator; `views` maps each digest it was seen under to
    the participants who received that version.
    """

    def __init__(self, member: int, views: dict[bytes, tuple[int, ...]]) -> None:
        seen = "; ".join(
            f"{digest.hex()[:16]} to participant(s) {', '.join(map(str, who))}"
            for digest, who in sorted(views.items(), key=lambda kv: kv[1])
        )
        super().__init__(member, f"sent different round-one packages: {seen}")
        self.views = views
