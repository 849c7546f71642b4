"""The scrub of ``bwhooks export``, by part: what is known to be safe
(:mod:`~bwhooks.devtools.scrubbing.shapes`) and what looks personal or secret
(:mod:`~bwhooks.devtools.scrubbing.patterns`), the placeholders
(:mod:`~bwhooks.devtools.scrubbing.placeholders`), the text scanner
(:mod:`~bwhooks.devtools.scrubbing.scanning`), the JSON tree walk
(:mod:`~bwhooks.devtools.scrubbing.tree`), the XML part
(:mod:`~bwhooks.devtools.scrubbing.bxml`), Numbers documents element by element
(:mod:`~bwhooks.devtools.scrubbing.numbers`),
how a body is read (:mod:`~bwhooks.devtools.scrubbing.bodies`), and a delivery as a whole
(:class:`~bwhooks.devtools.scrubbing.scrubber.Scrubber`, public as
:class:`bwhooks.devtools.fixtures.Scrubber`)."""
