if a:
    if b:
        try:
            with c:
                for d in e:
                    while f:
                        if TYPE_CHECKING:
                            import deep.one
                        else:
                            import deep.two
        except ImportError:
            import deep.three
