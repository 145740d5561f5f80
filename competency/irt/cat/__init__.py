"""irt/cat"""
