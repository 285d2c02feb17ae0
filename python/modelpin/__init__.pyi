from typing import Dict, List, Literal, Mapping, Optional, Union

Result = Literal["success", "auth_error", "rate_limit", "billing", "timeout"]

class Error(Exception):
    """An engine error; str(e) is the message the modelpin CLI prints."""

class Reply:
    """A reply to post to the chat; is_error marks a refused command."""
    def __init__(self, text: str, is_error: bool = False) -> None: ...
    @property
    def text(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    def __eq__(self, other: object) -> bool: ...

class Route:
    """Where the next model call goes."""
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def profiles(self) -> List[str]:
        """Auth profiles to try, in order (the session's pin first)."""
    @property
    def text(self) -> str:
        """What the model receives: directives removed, trimmed."""
    @property
    def thinking(self) -> str:
        """This call's own thinking level ("hello /think high"); "" = the session's."""
    @property
    def rule(self) -> str:
        """The routing rule (config modelpin.routes) that applied; "" = none."""

class Outcome:
    """What Engine.handle decided for one message."""
    @property
    def agent(self) -> str: ...
    @property
    def session_key(self) -> str: ...
    @property
    def replies(self) -> List[Reply]: ...
    @property
    def route(self) -> Optional[Route]: ...
    @property
    def resolve_agent(self, agent: str) -> str: ...
    def session(self) -> Dict[str, Union[str, bool, int]]:
        """The session's stored fields after this message, OpenClaw's names."""

class Engine:
    """The modelpin engine: one per process, shared by all threads."""
    def __init__(
        self,
        *,
        config: Optional[str] = None,
        state_dir: Optional[str] = None,
        strict: Optional[bool] = None,
        sessions: Optional[str] = None,
        environment: Optional[Mapping[str, str]] = None,
    ) -> None: ...
    def handle(self, text: str, *, session: str = "", agent: str = "", sender: str = "") -> Outcome: ...
    def report_outcome(self, agent: str, session: str, profile: str, result: Result) -> None: ...
    def secret_for(self, agent: str, profile: str) -> str: ...
    def resolve_agent(self, agent: str) -> str: ...
    def session(self, session: str, *, agent: str = "") -> Dict[str, Union[str, bool, int]]: ...

__all__: List[str]
