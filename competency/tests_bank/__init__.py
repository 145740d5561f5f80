"""tests_bank"""
