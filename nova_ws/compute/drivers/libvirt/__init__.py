"""The libvirt hypervisor driver: ``compute_driver = libvirt``.

:mod:`.driver` is the Twisted-facing driver; :mod:`.guests` and :mod:`.host`
are the blocking libvirt calls it runs in its thread pool; :mod:`.domain`
builds and reads domain XML; :mod:`.errors` and :mod:`.states` translate
libvirt's errors and states into the driver contract's.
"""
